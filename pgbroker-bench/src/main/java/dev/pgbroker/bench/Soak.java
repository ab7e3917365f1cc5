package dev.pgbroker.bench;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.Broker;
import dev.pgbroker.Delivery;
import dev.pgbroker.Json;
import dev.pgbroker.QueueOptions;
import dev.pgbroker.Worker;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The soak ({@code bench/run --soak MINUTES}): a steady send rate through a worker for many minutes
 * on a server whose autovacuum is on, as production servers run it. Every half minute it prints the
 * hot table's size, its indexes' size, its dead rows and the p99 of a timed read beside the worker,
 * so a table or a fetch time that creeps up shows as a rising column. Without {@code --db} it
 * starts an embedded PostgreSQL (autovacuum on by default) rather than the local server, whose
 * autovacuum may be off.
 */
final class Soak {
  private static final String SCHEMA = "soak";
  private static final String QUEUE = "soak";
  private static final Duration WINDOW = Duration.ofSeconds(30);
  private static final int TICKS_PER_SECOND = 100;

  private final PrintStream out;
  private final Duration length;
  private final int ratePerSecond;

  Soak(PrintStream out, Duration length, int ratePerSecond) {
    this.out = out;
    this.length = length;
    this.ratePerSecond = ratePerSecond;
  }

  int run(String db) throws Exception {
    EmbeddedPostgres embedded = db == null ? EmbeddedPostgres.builder().start() : null;
    String url = db != null ? db : embedded.getJdbcUrl("postgres", "postgres");
    try (HikariDataSource ds = Server.pool(url, null, 24)) {
      return soak(ds);
    } finally {
      if (embedded != null) {
        embedded.close();
      }
    }
  }

  private int soak(HikariDataSource ds) throws Exception {
    Server.execute(ds.getJdbcUrl(), "drop schema if exists " + SCHEMA + " cascade");
    Broker broker = Broker.create(ds).schema(SCHEMA).build();
    broker.createQueue(QUEUE, QueueOptions.defaults());
    out.println("soak: " + settings(ds) + "; " + ratePerSecond + " messages/s for " + length);
    Latencies handling = new Latencies();
    Latencies fetch = new Latencies();
    AtomicLong sent = new AtomicLong();
    AtomicLong handled = new AtomicLong();
    AtomicBoolean running = new AtomicBoolean(true);
    List<String[]> rows = new ArrayList<>();
    long start = System.nanoTime();
    try (Worker worker =
        broker
            .worker()
            .handle(
                QUEUE,
                d -> {
                  handling.add(System.nanoTime() - sentAt(d));
                  handled.incrementAndGet();
                })
            .concurrency(QUEUE, 32)
            .start()) {
      Thread producer =
          new Thread(() -> produce(broker, QUEUE, ratePerSecond, sent, running), "soak-producer");
      Thread prober = new Thread(() -> probe(broker, fetch, running), "soak-probe");
      producer.start();
      prober.start();
      long end = start + length.toNanos();
      out.println(Row.HEADER);
      while (System.nanoTime() < end) {
        Thread.sleep(Math.min(WINDOW.toMillis(), (end - System.nanoTime()) / 1_000_000 + 1));
        String[] row = Row.sample(ds, start, sent.get(), handled.get(), fetch, handling);
        rows.add(row);
        out.println(String.join(" | ", row));
      }
      running.set(false);
      producer.join();
      prober.join();
    }
    out.println();
    out.println("start, middle and end:");
    out.println(Row.HEADER);
    for (String[] row :
        List.of(rows.get(0), rows.get(rows.size() / 2), rows.get(rows.size() - 1))) {
      out.println(String.join(" | ", row));
    }
    return 0;
  }

  /**
   * Sends {@code ratePerSecond} messages a second in a small batch every 10 ms, so the rate stays
   * steady rather than bursting each second, until {@code running} turns false. Each payload
   * carries its send time for {@link #sentAt} (System.nanoTime: the worker runs in this JVM).
   */
  static void produce(
      Broker broker, String queue, int ratePerSecond, AtomicLong sent, AtomicBoolean running) {
    long start = System.nanoTime();
    long first = sent.get();
    for (long tick = 0; running.get(); tick++) {
      long wait = start + tick * 1_000_000_000L / TICKS_PER_SECOND - System.nanoTime();
      if (wait > 0) {
        sleep(wait / 1_000_000);
      }
      int n = (int) ((tick + 1) * ratePerSecond / TICKS_PER_SECOND - (sent.get() - first));
      if (n > 0) {
        Json payload = Json.of("{\"sentAt\": " + System.nanoTime() + "}");
        broker.sendBatch(queue, Collections.nCopies(n, payload));
        sent.addAndGet(n);
      }
    }
  }

  /** The send time {@link #produce} put in the payload. */
  static long sentAt(Delivery d) {
    String json = d.payloadJson();
    return Long.parseLong(json.substring(json.indexOf(':') + 1, json.indexOf('}')).trim());
  }

  /** A timed read beside the worker five times a second: the fetch a consumer waits for. */
  private static void probe(Broker broker, Latencies fetch, AtomicBoolean running) {
    while (running.get()) {
      long t0 = System.nanoTime();
      List<Delivery> got = broker.read(QUEUE, 10);
      fetch.add(System.nanoTime() - t0);
      broker.ackAll(got);
      sleep(200);
    }
  }

  private static String settings(HikariDataSource ds) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "select version(), current_setting('autovacuum'),"
                    + " current_setting('autovacuum_naptime')");
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getString(1).replaceAll(" on .*", "")
          + ", autovacuum "
          + rs.getString(2)
          + " (naptime "
          + rs.getString(3)
          + ")";
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Durations in nanoseconds gathered over one window; taking the percentiles empties it. */
  static final class Latencies {
    private long[] values = new long[1024];
    private int size;

    synchronized void add(long nanos) {
      if (size == values.length) {
        values = Arrays.copyOf(values, size * 2);
      }
      values[size++] = nanos;
    }

    /** Every duration gathered since the last take, and an empty window. */
    synchronized long[] take() {
      long[] v = Arrays.copyOf(values, size);
      size = 0;
      return v;
    }

    /** p50 and p99 in milliseconds, then an empty window. */
    double[] drain() {
      long[] v = take();
      if (v.length == 0) {
        return new double[] {Double.NaN, Double.NaN};
      }
      Arrays.sort(v);
      return new double[] {
        v[v.length / 2] / 1e6, v[(int) Math.min(v.length - 1, v.length * 0.99)] / 1e6
      };
    }
  }

  /** One line of the soak's table. */
  private static final class Row {
    static final String HEADER =
        "min | sent | handled | backlog | table | indexes | dead rows | autovacuums"
            + " | read p50 ms | read p99 ms | handling p99 ms";

    static String[] sample(
        HikariDataSource ds,
        long start,
        long sent,
        long handled,
        Latencies fetch,
        Latencies handling)
        throws SQLException {
      double[] f = fetch.drain();
      double[] h = handling.drain();
      try (Connection c = ds.getConnection();
          PreparedStatement ps =
              c.prepareStatement(
                  "select pg_size_pretty(pg_relation_size(relid)),"
                      + " pg_size_pretty(pg_indexes_size(relid)), n_dead_tup,"
                      + " autovacuum_count, (select count(*) from soak.message)"
                      + " from pg_stat_all_tables where relid = 'soak.message'::regclass");
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        return new String[] {
          String.format("%.1f", (System.nanoTime() - start) / 60e9),
          Long.toString(sent),
          Long.toString(handled),
          Long.toString(rs.getLong(5)),
          rs.getString(1),
          rs.getString(2),
          Long.toString(rs.getLong(3)),
          Long.toString(rs.getLong(4)),
          String.format("%.2f", f[0]),
          String.format("%.2f", f[1]),
          String.format("%.1f", h[1])
        };
      }
    }
  }
}
