package dev.pgbroker.testing;

import dev.pgbroker.Broker;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** The schema a test runs in, its broker, and a way to count rows there. */
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
