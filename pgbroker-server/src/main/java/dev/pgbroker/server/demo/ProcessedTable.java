package dev.pgbroker.server.demo;

import dev.pgbroker.Delivery;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;

/**
 * The demo's own business table: one row per payment a consumer processed, written in the
 * transaction that acknowledges the message. It has no unique key on purpose, so that a payment
 * processed twice would show up as two rows to count rather than as an error that hides it.
 */
final class ProcessedTable {
  private final DataSource dataSource;
  private final String schema;

  ProcessedTable(DataSource dataSource, String schema) {
    this.dataSource = dataSource;
    this.schema = schema;
  }

  String name() {
    return schema + ".processed";
  }

  /** Creates the table if needed and empties it, so reruns on the same database start clean. */
  void reset() throws SQLException {
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement()) {
      s.execute("create schema if not exists " + schema);
      s.execute(
          "create table if not exists "
              + name()
              + " ("
              + "message_id bigint not null, payment integer not null, consumer text not null, "
              + "processed_at timestamptz not null default now())");
      s.execute("truncate " + name());
    }
  }

  /** Records processed deliveries inside the caller's transaction. */
  void insert(Connection tx, String consumer, List<Delivery> deliveries) throws SQLException {
    Long[] ids = deliveries.stream().map(Delivery::id).toArray(Long[]::new);
    Integer[] payments =
        deliveries.stream().map(d -> d.payload(Payment.class).number()).toArray(Integer[]::new);
    try (PreparedStatement ps =
        tx.prepareStatement(
            "insert into "
                + name()
                + " (message_id, payment, consumer)"
                + " select u.id, u.payment, ? from unnest(?, ?) as u(id, payment)")) {
      ps.setString(1, consumer); // who processed them
      ps.setArray(2, tx.createArrayOf("bigint", ids)); // message ids
      ps.setArray(3, tx.createArrayOf("integer", payments)); // payment numbers, same order
      ps.executeUpdate();
    }
  }

  /** How many rows each processed message has; more than one would be a duplicate. */
  Map<Long, Integer> rowsPerMessage() throws SQLException {
    Map<Long, Integer> rows = new HashMap<>();
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("select message_id, count(*) from " + name() + " group by message_id")) {
      while (rs.next()) {
        rows.put(rs.getLong(1), rs.getInt(2));
      }
    }
    return rows;
  }
}
