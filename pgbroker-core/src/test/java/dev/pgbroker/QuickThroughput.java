package dev.pgbroker;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.testing.TestDatabase;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

/**
 * A first throughput figure (the full benchmark is pgbroker-bench): batch send of N messages in
 * batches of 100, then receive+ack in batches of 100 with a few consumer threads. Args: N threads.
 */
public final class QuickThroughput {
  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    int threads = args.length > 1 ? Integer.parseInt(args[1]) : 4;
    String schema = "quick_throughput";
    try (HikariDataSource ds = TestDatabase.pool(TestDatabase.jdbcUrl(), threads + 1)) {
      try (Connection c = ds.getConnection();
          Statement s = c.createStatement()) {
        s.execute("drop schema if exists " + schema + " cascade");
      }
      Broker broker = Broker.create(ds).schema(schema).build();
      broker.createQueue("q");
      List<Integer> batch = IntStream.range(0, 100).boxed().toList();
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i += 100) {
        broker.sendBatch("q", batch);
      }
      double sendSecs = (System.nanoTime() - t0) / 1e9;
      AtomicLong done = new AtomicLong();
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      long t1 = System.nanoTime();
      Future<?>[] fs = new Future<?>[threads];
      for (int t = 0; t < threads; t++) {
        fs[t] =
            pool.submit(
                () -> {
                  while (true) {
                    List<Delivery> got = broker.read("q", 100);
                    if (got.isEmpty()) {
                      return null;
                    }
                    broker.ackAll(got);
                    done.addAndGet(got.size());
                  }
                });
      }
      for (Future<?> f : fs) {
        f.get();
      }
      double drainSecs = (System.nanoTime() - t1) / 1e9;
      pool.shutdown();
      System.out.printf(
          "batch send (100/batch, 1 thread): %,.0f msg/s  (%d msgs in %.2fs)%n",
          n / sendSecs, n, sendSecs);
      System.out.printf(
          "receive+ack (100/batch, %d threads): %,.0f msg/s  (%d msgs in %.2fs)%n",
          threads, done.get() / drainSecs, done.get(), drainSecs);
      try (Connection c = ds.getConnection();
          Statement s = c.createStatement()) {
        s.execute("drop schema if exists " + schema + " cascade");
      }
    }
  }
}
