package dev.pgbroker;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.testing.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.List;

/**
 * A separate consumer JVM for the multi-process tests: receives batches from a queue and, in one
 * transaction per batch, records each message id in {@code <schema>.processed} and acks. Exits when
 * the queue stays empty for a second. Args: jdbcUrl schema queue consumerName.
 */
public final class DrainProcess {
  public static void main(String[] args) throws Exception {
    String url = args[0];
    String schema = args[1];
    String queue = args[2];
    String name = args[3];
    try (HikariDataSource ds = TestDatabase.pool(url, 2)) {
      Broker broker = Broker.create(ds).schema(schema).migrate(false).build();
      long idleSince = System.nanoTime();
      while (System.nanoTime() - idleSince < 1_000_000_000L) {
        List<Delivery> batch = broker.read(queue, 100);
        if (batch.isEmpty()) {
          Thread.sleep(10);
          continue;
        }
        idleSince = System.nanoTime();
        record(ds, broker, schema, name, batch);
      }
    }
  }

  static void record(
      javax.sql.DataSource ds, Broker broker, String schema, String name, List<Delivery> batch)
      throws Exception {
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps =
          c.prepareStatement("insert into " + schema + ".processed (id, consumer) values (?, ?)")) {
        for (Delivery d : batch) {
          ps.setLong(1, d.id());
          ps.setString(2, name);
          ps.addBatch();
        }
        ps.executeBatch();
      }
      List<Delivery> stale = broker.ackAll(c, batch);
      if (!stale.isEmpty()) {
        c.rollback(); // someone else holds these now; our effects must not count
        return;
      }
      c.commit();
    }
  }
}
