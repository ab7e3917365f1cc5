package dev.pgbroker.chaos;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.Broker;
import dev.pgbroker.SendOptions;
import dev.pgbroker.testing.TestDatabase;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.concurrent.locks.LockSupport;

/**
 * A producer JVM of the chaos scenarios. Sends numbers from {@code from} upwards until the file
 * {@code stop} exists, each in a transaction of its own that also inserts the number into {@code
 * <schema>.sent}; the numbers {@link Numbered#rollsBack} picks are rolled back instead of
 * committed. A failed send is retried until it succeeds: when the failure came at commit, the
 * {@code sent} row tells whether the transaction committed after all, so nothing is sent twice.
 * Writes the numbers it knows committed to {@code <out>.committed} and each error it met to {@code
 * <out>.errors}. Args: jdbcUrl schema queue from pauseMicros out stop.
 */
public final class ChaosProducer {
  public static void main(String[] args) throws Exception {
    String schema = args[1];
    String queue = args[2];
    int from = Integer.parseInt(args[3]);
    long pauseNanos = Long.parseLong(args[4]) * 1000;
    Path out = Path.of(args[5]);
    Path stop = Path.of(args[6]);
    try (HikariDataSource ds = TestDatabase.pool(args[0], 2);
        PrintWriter committed =
            new PrintWriter(
                Files.newBufferedWriter(out.resolveSibling(out.getFileName() + ".committed")));
        PrintWriter errors =
            new PrintWriter(
                Files.newBufferedWriter(out.resolveSibling(out.getFileName() + ".errors")))) {
      ds.setConnectionTimeout(1_000);
      Broker broker = Broker.create(ds).schema(schema).migrate(false).build();
      for (int n = from; !Files.exists(stop); n++) {
        long backoffMillis = 50;
        while (true) {
          try {
            if (send(ds, broker, schema, queue, n)) {
              committed.println(n);
            }
            break;
          } catch (Exception e) {
            errors.println(describe(e));
            Boolean known = null;
            while (known == null) { // until the database can say whether the commit happened
              Thread.sleep(backoffMillis);
              backoffMillis = Math.min(1_000, backoffMillis * 2);
              known = wasCommitted(ds, schema, n);
            }
            if (known) {
              committed.println(n);
              break;
            }
          }
        }
        LockSupport.parkNanos(pauseNanos);
      }
    }
  }

  /** Returns whether the send committed (false: rolled back on purpose). */
  private static boolean send(
      HikariDataSource ds, Broker broker, String schema, String queue, int n) throws SQLException {
    try (Connection tx = ds.getConnection()) {
      tx.setAutoCommit(false);
      broker.send(tx, queue, Numbered.of(n), SendOptions.none());
      try (PreparedStatement ps =
          tx.prepareStatement("insert into " + schema + ".sent values (?)")) {
        ps.setInt(1, n);
        ps.execute();
      }
      if (Numbered.rollsBack(n)) {
        tx.rollback();
        return false;
      }
      tx.commit();
      return true;
    }
  }

  /** Null when the database cannot tell yet. */
  private static Boolean wasCommitted(HikariDataSource ds, String schema, int n) {
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement("select 1 from " + schema + ".sent where n = ?")) {
      ps.setInt(1, n);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    } catch (SQLException e) {
      return null;
    }
  }

  /** One line per error: its SQLState (if any) and message, the first cause's message beside. */
  private static String describe(Throwable e) {
    Throwable sql = e;
    while (sql != null && !(sql instanceof SQLException)) {
      sql = sql.getCause();
    }
    String state = sql instanceof SQLException s ? s.getSQLState() : "-";
    return state
        + "\t"
        + e.getClass().getSimpleName()
        + ": "
        + String.valueOf(e.getMessage()).replace('\n', ' ');
  }
}
