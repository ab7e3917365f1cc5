package dev.pgbroker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Recurring schedules: each tick sends one message to a queue. Tick times come from the database
 * clock, and the database refuses a second message for one tick, so every running {@link Worker}
 * fires due ticks and exactly one message per tick results however many instances run or die. A
 * tick's message failing or being dead-lettered never stops later ticks. Safe to share between
 * threads.
 */
public final class Schedules {
  private final ScheduleSql sql;
  private final ObjectMapper mapper;

  Schedules(ScheduleSql sql, ObjectMapper mapper) {
    this.sql = sql;
    this.mapper = mapper;
  }

  ScheduleSql sql() {
    return sql;
  }

  /**
   * Creates the schedule, or changes it to this one; returns its next tick. Putting a schedule
   * whose timing is unchanged keeps its next tick, so every instance may put its schedules on
   * start. The queue must exist.
   */
  public Instant put(String name, String queue, Schedule schedule) {
    Checks.name("schedule", name);
    Checks.queueName(queue);
    Objects.requireNonNull(schedule, "schedule");
    Map<String, Object> spec = new LinkedHashMap<>();
    if (schedule.cron() != null) {
      spec.put("cron", schedule.cron());
      spec.put("time_zone", schedule.zone().getId());
    } else {
      spec.put("every_ms", schedule.every().toMillis());
    }
    spec.put("options", schedule.options().sqlOptions());
    spec.put("catch_up", schedule.catchUpTicks());
    try {
      Object payload = schedule.payload();
      spec.put("payload", payload instanceof Json j ? mapper.readTree(j.text()) : payload);
      return sql.put(name, queue, mapper.writeValueAsString(spec));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("schedule " + name + ": payload is not JSON", e);
    }
  }

  /** Removes the schedule; false if there was none. */
  public boolean remove(String name) {
    return sql.remove(Checks.name("schedule", name));
  }

  /**
   * Stops sending the schedule's ticks until {@link #resume}; false if there is no such schedule.
   */
  public boolean pause(String name) {
    return sql.pause(Checks.name("schedule", name), true);
  }

  /** Goes on from the next tick after now; the ticks of the pause are skipped. */
  public boolean resume(String name) {
    return sql.pause(Checks.name("schedule", name), false);
  }

  /** Every schedule with its next and last tick, by name. */
  public List<ScheduledTask> list() {
    return sql.list();
  }
}
