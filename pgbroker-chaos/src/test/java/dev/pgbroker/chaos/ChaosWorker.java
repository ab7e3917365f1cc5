package dev.pgbroker.chaos;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.Broker;
import dev.pgbroker.PoisonMessageException;
import dev.pgbroker.testing.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;

/**
 * A worker JVM of the chaos scenarios. Its transactional handler records each processing in {@code
 * <schema>.processed} in the transaction its ack commits in, so a processing counts exactly when
 * its ack does; a poison message is refused into the dead-letter store. At start it records its own
 * clock beside the database's, so a scenario can see a skew it arranged. Runs until killed; SIGTERM
 * drains it. Args: jdbcUrl schema queue name.
 */
public final class ChaosWorker {
  public static void main(String[] args) throws Exception {
    String schema = args[1];
    String queue = args[2];
    String name = args[3];
    HikariDataSource ds = TestDatabase.pool(args[0], 12);
    ds.setConnectionTimeout(2_000);
    Broker broker = Broker.create(ds).schema(schema).migrate(false).build();
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "insert into " + schema + ".clocks (worker, jvm_ms) values (?, ?)")) {
      ps.setString(1, name);
      ps.setLong(2, System.currentTimeMillis()); // the JVM's clock, skewed or not
      ps.execute();
    }
    broker
        .worker()
        .handleInTransaction(
            queue,
            (tx, d) -> {
              Numbered m = d.payload(Numbered.class);
              if (m.poison()) {
                throw new PoisonMessageException("message " + m.n() + " is poison");
              }
              try (PreparedStatement ps =
                  tx.prepareStatement(
                      "insert into "
                          + schema
                          + ".processed (n, id, worker, attempt) values (?, ?, ?, ?)")) {
                ps.setInt(1, m.n());
                ps.setLong(2, d.id());
                ps.setString(3, name);
                ps.setInt(4, d.attempt());
                ps.execute();
              }
              Thread.sleep(2); // keeps handler slots busy, so a kill catches work in flight
            })
        .concurrency(queue, 8)
        .drainTimeout(Duration.ofSeconds(5))
        .shutdownHook(true)
        .start();
    System.out.println("worker " + name + " started");
    Thread.currentThread().join();
  }
}
