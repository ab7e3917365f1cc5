package dev.pgbroker.bench;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.Broker;
import dev.pgbroker.Worker;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Sustained load rather than a drain: a producer sends at a steady rate (half of what the worker
 * drained in the same run) while the worker handles, for a fixed time. Gives each message's time
 * from just before its send to its handler's start, and the hot table's size early and at the end,
 * so a table that grows under steady traffic shows.
 */
final class SteadyState {
  private final Progress progress;

  SteadyState(Progress progress) {
    this.progress = progress;
  }

  /** Latencies in nanoseconds, one per message; {@code note} receives the table sizes. */
  long[] run(
      Broker broker,
      HikariDataSource ds,
      String queue,
      int ratePerSecond,
      int seconds,
      int concurrency,
      StringBuilder note)
      throws Exception {
    progress.phase(
        String.format("pgbroker: steady state, %,d msg/s for %d s", ratePerSecond, seconds));
    Soak.Latencies latencies = new Soak.Latencies();
    AtomicLong sent = new AtomicLong();
    AtomicLong handled = new AtomicLong();
    AtomicBoolean running = new AtomicBoolean(true);
    String early;
    try (Worker worker =
        broker
            .worker()
            .handle(
                queue,
                d -> {
                  latencies.add(System.nanoTime() - Soak.sentAt(d));
                  handled.incrementAndGet();
                })
            .concurrency(queue, concurrency)
            .start()) {
      Thread producer =
          new Thread(
              () -> Soak.produce(broker, queue, ratePerSecond, sent, running), "steady-producer");
      producer.start();
      long start = System.nanoTime();
      // Early rather than at zero: an empty table says nothing; a few seconds in, the working set
      // exists.
      sleepUntil(start + seconds * 1_000_000_000L / 12);
      early = size(ds, broker.schema());
      sleepUntil(start + seconds * 1_000_000_000L);
      running.set(false);
      producer.join();
      progress.await(
          () -> handled.get() >= sent.get(),
          () -> String.format("%,d of %,d handled", handled.get(), sent.get()),
          Duration.ofMinutes(2));
    }
    String end = size(ds, broker.schema());
    note.append(
        String.format(
            "%,d msg/s for %d s; hot table and indexes %s early, %s at the end",
            ratePerSecond, seconds, early, end));
    return latencies.take();
  }

  private static String size(HikariDataSource ds, String schema) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "select pg_size_pretty(pg_relation_size(t)) || ' + '"
                    + " || pg_size_pretty(pg_indexes_size(t)) from to_regclass(?) t")) {
      ps.setString(1, schema + ".message"); // the hot table
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getString(1);
      }
    }
  }

  private static void sleepUntil(long nanoTime) throws InterruptedException {
    long ms = (nanoTime - System.nanoTime()) / 1_000_000;
    if (ms > 0) {
      Thread.sleep(ms);
    }
  }
}
