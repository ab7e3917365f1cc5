package dev.pgbroker.testing;

import dev.pgbroker.Broker;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** The schema a test runs in, its broker, and ways to count rows there and read the clock. */
public record TestSchema(String name, Broker broker) {

  /** Runs one SQL query returning a single number, with {@code %s} standing for the schema. */
  public long count(String sqlTemplate) {
    String sql = sqlTemplate.replace("%s", name);
    try (Connection c = TestDatabase.dataSource().getConnection();
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    } catch (SQLException e) {
      throw new IllegalStateException(sql, e);
    }
  }

  /**
   * The database's clock, which delays run on. A wait timed with System.nanoTime may look a few
   * milliseconds short of a delay the database kept, on a virtual machine whose wall clock is
   * stepped forward now and then (by 9-15 ms within some 3-second windows on one).
   */
  public Instant now() {
    return Instant.EPOCH.plus(
        count("select (extract(epoch from clock_timestamp()) * 1000000)::bigint"),
        ChronoUnit.MICROS);
  }

  /** Ack statements run for a queue so far: each counts its acks in a row of its own. */
  public long ackStatements(String queue) {
    return count("select count(*) from %s.counter where queue = '" + queue + "' and acked > 0");
  }

  /** Runs SQL statements, with {@code %s} standing for the schema. */
  public void execute(String sqlTemplate) {
    String sql = sqlTemplate.replace("%s", name);
    try (Connection c = TestDatabase.dataSource().getConnection();
        Statement st = c.createStatement()) {
      st.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(sql, e);
    }
  }
}
