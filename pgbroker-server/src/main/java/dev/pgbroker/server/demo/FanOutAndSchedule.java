package dev.pgbroker.server.demo;

import dev.pgbroker.Broker;
import dev.pgbroker.Filter;
import dev.pgbroker.Schedule;
import dev.pgbroker.SendOptions;
import dev.pgbroker.Worker;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;

/**
 * The demo's pub/sub and schedule stage: one transaction publishes signup events to a topic whose
 * two subscriptions each get the copies their filter accepts, and a schedule ticking every second
 * sends one message per tick to a worker.
 */
final class FanOutAndSchedule {
  static final String TOPIC = "demo-signups";
  static final String WELCOME = "demo-welcome-mail";
  static final String CRM = "demo-crm-sync";
  static final String TICKS = "demo-ticks";
  private static final int EVENTS = 100;
  private static final int TICKS_TO_SEE = 3;

  private final Broker broker;
  private final DataSource dataSource;
  private final PrintWriter out;
  private final List<String> problems;

  FanOutAndSchedule(Broker broker, DataSource dataSource, PrintWriter out, List<String> problems) {
    this.broker = broker;
    this.dataSource = dataSource;
    this.out = out;
    this.problems = problems;
  }

  void run() throws SQLException, InterruptedException {
    fanOut();
    schedule();
  }

  private void fanOut() throws SQLException {
    broker.topics().delete(TOPIC); // a rerun on a real database starts empty
    broker.topics().subscribe(TOPIC, WELCOME);
    broker.topics().subscribe(TOPIC, CRM, Filter.type("signup.completed"));
    int copies = 0;
    try (Connection tx = dataSource.getConnection()) {
      tx.setAutoCommit(false);
      for (int i = 0; i < EVENTS; i++) {
        String type = i % 2 == 0 ? "signup.completed" : "signup.started";
        copies += broker.publish(tx, TOPIC, Map.of("user", i), SendOptions.none().type(type));
      }
      tx.commit();
    }
    long welcome = broker.stats(WELCOME).ready();
    long crm = broker.stats(CRM).ready();
    out.printf(
        "  %d events published in one transaction made %d copies: %s got %d (all), %s got %d"
            + " (type signup.completed only)%n",
        EVENTS, copies, WELCOME, welcome, CRM, crm);
    if (welcome != EVENTS || crm != EVENTS / 2 || copies != EVENTS + EVENTS / 2) {
      problems.add("the topic fan-out made " + welcome + " and " + crm + " copies");
    }
    broker.topics().delete(TOPIC);
  }

  private void schedule() throws InterruptedException {
    broker.deleteQueue(TICKS);
    broker.createQueue(TICKS);
    broker.schedules().put("demo-every-second", TICKS, Schedule.every(Duration.ofSeconds(1)));
    Set<String> ticks = ConcurrentHashMap.newKeySet();
    AtomicInteger handled = new AtomicInteger();
    long start = System.nanoTime();
    try (Worker worker =
        broker
            .worker()
            .handle(
                TICKS,
                d -> {
                  ticks.add(d.headers().get("pgbroker-tick"));
                  handled.incrementAndGet();
                })
            .shutdownHook(false)
            .start()) {
      long deadline = start + Duration.ofSeconds(15).toNanos();
      while (handled.get() < TICKS_TO_SEE && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
    }
    out.printf(
        "  schedule demo-every-second: %d messages for %d distinct ticks in %.1f s%n",
        handled.get(), ticks.size(), (System.nanoTime() - start) / 1e9);
    if (handled.get() < TICKS_TO_SEE || ticks.size() != handled.get()) {
      problems.add(
          "the schedule sent " + handled.get() + " messages for " + ticks.size() + " ticks");
    }
    broker.deleteQueue(TICKS); // the schedule goes with its queue
  }
}
