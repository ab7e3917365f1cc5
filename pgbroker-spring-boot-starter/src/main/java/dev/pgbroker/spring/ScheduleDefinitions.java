package dev.pgbroker.spring;

import dev.pgbroker.Broker;
import dev.pgbroker.Json;
import dev.pgbroker.Schedule;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.convert.DurationStyle;

/**
 * The schedules an application declares, by annotation and by property, checked as they are added
 * and put (created or brought in step) when the listener container starts.
 */
final class ScheduleDefinitions {
  private record Definition(String queue, Schedule schedule, String source) {}

  private final Map<String, Definition> byName = new LinkedHashMap<>();

  /** Another set holding the same definitions, to add more to without changing this one. */
  synchronized ScheduleDefinitions copy() {
    ScheduleDefinitions c = new ScheduleDefinitions();
    c.byName.putAll(byName);
    return c;
  }

  /** From {@code @PgBrokerSchedule}, placeholders already resolved. */
  synchronized void add(String name, String cron, String zone, String every, String source) {
    Duration interval;
    try {
      interval = every.isEmpty() ? null : DurationStyle.detectAndParse(every);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(
          source + ": every = '" + every + "' is not a duration (30s, 1m, PT1H)", e);
    }
    add(name, name, timing(cron.isEmpty() ? null : cron, zone, interval, source), source);
  }

  /** From {@code pgbroker.schedules.<name>.*}. */
  synchronized void add(String name, PgBrokerProperties.ScheduleSpec spec) {
    String source = "pgbroker.schedules." + name;
    if (spec.getQueue() == null || spec.getQueue().isBlank()) {
      throw new IllegalStateException(source + ".queue is required: the queue ticks go to");
    }
    Schedule s = timing(spec.getCron(), spec.getZone(), spec.getEvery(), source);
    try {
      s = s.payload(Json.of(spec.getPayload())).catchUp(spec.getCatchUp());
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(source + ": " + e.getMessage(), e);
    }
    add(name, spec.getQueue(), s, source);
  }

  private void add(String name, String queue, Schedule schedule, String source) {
    Definition other = byName.putIfAbsent(name, new Definition(queue, schedule, source));
    if (other != null) {
      throw new IllegalStateException(
          "schedule '" + name + "' is declared twice, by " + other.source() + " and " + source);
    }
  }

  private static Schedule timing(String cron, String zone, Duration every, String source) {
    if ((cron == null) == (every == null)) {
      throw new IllegalStateException(
          source + ": give either cron or every, not " + (cron == null ? "neither" : "both"));
    }
    try {
      return cron != null ? Schedule.cron(cron, ZoneId.of(zone)) : Schedule.every(every);
    } catch (IllegalArgumentException | DateTimeException e) {
      throw new IllegalStateException(source + ": " + e.getMessage(), e);
    }
  }

  /** Creates missing queues and puts every schedule; a bad cron is named with its source. */
  void putAll(Broker broker) {
    for (Map.Entry<String, Definition> e : byName.entrySet()) {
      Definition d = e.getValue();
      broker.createQueue(d.queue());
      try {
        broker.schedules().put(e.getKey(), d.queue(), d.schedule());
      } catch (RuntimeException ex) {
        throw new IllegalStateException(d.source() + ": " + ex.getMessage(), ex);
      }
    }
  }
}
