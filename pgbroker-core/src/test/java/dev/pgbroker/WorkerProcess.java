package dev.pgbroker;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.testing.TestDatabase;
import java.sql.PreparedStatement;
import java.time.Duration;

/**
 * One instance of a service for the multi-process tests: a worker whose transactional handler
 * records each message in {@code <schema>.processed}. Runs until killed; SIGTERM drains it. Args:
 * jdbcUrl schema queue instanceName.
 */
public final class WorkerProcess {
  public static void main(String[] args) throws Exception {
    String schema = args[1];
    String queue = args[2];
    String name = args[3];
    HikariDataSource ds = TestDatabase.pool(args[0], 12);
    Broker broker = Broker.create(ds).schema(schema).migrate(false).build();
    broker
        .worker()
        .handleInTransaction(
            queue,
            (tx, d) -> {
              try (PreparedStatement ps =
                  tx.prepareStatement(
                      "insert into "
                          + schema
                          + ".processed (id, consumer, attempt) values (?, ?, ?)")) {
                ps.setLong(1, d.id());
                ps.setString(2, name);
                ps.setInt(3, d.attempt());
                ps.execute();
              }
              Thread.sleep(
                  1); // keeps every handler slot busy, so a kill always catches work in flight
            })
        .concurrency(queue, 8)
        .drainTimeout(Duration.ofSeconds(10))
        .shutdownHook(true)
        .start();
    System.out.println("worker " + name + " started");
    Thread.currentThread().join();
  }
}
