package dev.pgbroker.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.Broker;
import dev.pgbroker.QueueOptions;
import dev.pgbroker.Worker;
import dev.pgbroker.testing.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A long transaction elsewhere holds back the xmin horizon, so vacuum cannot remove the message
 * table's dead rows and every fetch walks more of them: throughput and dead rows before, during and
 * after, and the count.
 */
@Tag("chaos")
class XminHorizonTest {
  private static final Duration PHASE = Duration.ofSeconds(20);
  private static final int BACKLOG = 2_000;

  @Test
  void throughputRecoversWhenTheLongTransactionEnds() throws Exception {
    Map<Integer, Integer> times = new ConcurrentHashMap<>();
    AtomicInteger sent = new AtomicInteger();
    AtomicBoolean producing = new AtomicBoolean(true);
    try (ChaosRun run = new ChaosRun("xmin_horizon", QueueOptions.defaults());
        HikariDataSource ds = TestDatabase.pool(run.url("chaos-xmin"), 16)) {
      Broker broker = Broker.create(ds).schema(run.schema).migrate(false).build();
      String dead =
          "select coalesce(n_dead_tup, 0) from pg_stat_all_tables where relid ="
              + " '%s.message'::regclass";
      List<String> phases = new ArrayList<>();
      List<Double> rates = new ArrayList<>();
      List<Long> deadRows = new ArrayList<>();
      try (Worker worker =
          broker
              .worker()
              .handle(
                  ChaosRun.QUEUE, d -> times.merge(d.payload(Numbered.class).n(), 1, Integer::sum))
              .concurrency(ChaosRun.QUEUE, 16)
              .maintenanceInterval(Duration.ofSeconds(2)) // the hot-table vacuum looks often
              .start()) {
        Thread producer =
            new Thread(
                () -> {
                  while (producing.get()) {
                    if (sent.get() - times.size() > BACKLOG) { // keep a steady backlog, no more
                      sleep(5);
                      continue;
                    }
                    int from = sent.getAndAdd(100);
                    List<Numbered> batch = new ArrayList<>();
                    for (int n = from; n < from + 100; n++) {
                      batch.add(new Numbered(n, false));
                    }
                    broker.sendBatch(ChaosRun.QUEUE, batch);
                  }
                },
                "xmin-producer");
        producer.start();
        rates.add(phase(times));
        deadRows.add(run.count(dead));
        phases.add("before");

        try (Connection holder = DriverManager.getConnection(run.url("chaos-xmin-holder"))) {
          holder.setAutoCommit(false);
          holder.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
          try (Statement s = holder.createStatement()) {
            s.execute("select count(*) from " + run.schema + ".queue"); // takes the snapshot
          }
          assertThat(
                  run.count(
                      "select count(*) from pg_stat_activity where backend_xmin is not null and"
                          + " application_name = 'chaos-xmin-holder'"))
              .as("the long transaction holds the xmin horizon")
              .isEqualTo(1);
          rates.add(phase(times));
          deadRows.add(run.count(dead));
          phases.add("held");
          holder.rollback();
        }
        rates.add(phase(times));
        deadRows.add(run.count(dead));
        phases.add("after");
        producing.set(false);
        producer.join();
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (times.size() < sent.get()) {
          assertThat(System.nanoTime()).as("drained").isLessThan(deadline);
          Thread.sleep(50);
        }
      }
      int lost = sent.get() - times.size();
      int duplicated = times.values().stream().mapToInt(c -> c - 1).sum();
      assertThat(lost).as("lost").isZero();
      assertThat(duplicated).as("handled twice").isZero();
      assertThat(deadRows.get(1))
          .as("dead rows pile up while the horizon is held")
          .isGreaterThan(deadRows.get(0));
      assertThat(rates.get(2))
          .as("throughput after the long transaction ends, vs before")
          .isGreaterThan(rates.get(0) * 0.5);
      StringBuilder notes = new StringBuilder();
      for (int i = 0; i < phases.size(); i++) {
        notes.append(
            String.format(
                "%s%s: %.0f msg/s, %d dead rows",
                i == 0 ? "" : "; ", phases.get(i), rates.get(i), deadRows.get(i)));
      }
      ChaosTable.add(
          "long transaction holding the xmin horizon",
          Integer.toString(sent.get()),
          "1 repeatable-read transaction open for " + PHASE.toSeconds() + " s",
          lost,
          duplicated,
          0,
          run.seconds(),
          notes.toString());
    }
  }

  /** Messages handled per second over one phase. */
  private static double phase(Map<Integer, Integer> times) throws InterruptedException {
    int before = times.size();
    Thread.sleep(PHASE.toMillis());
    return (times.size() - before) / (double) PHASE.toSeconds();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
