package dev.pgbroker;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * The ways a leased delivery is settled, each one statement per queue over arrays of ids and
 * lease tokens. The schema's functions return the leases they settled; a delivery whose lease is
 * missing from the answer was stale.
 */
enum Settlement {
  ACK("select r, null from %s._ack(?, ?, ?) r"),
  /** Retry after a delay (null: the queue's backoff), or dead-letter once attempts are used up. */
  NACK("select r.lease, r.outcome from %s._nack(?, ?, ?, ?, ?, false) r"),
  /** Straight to the dead letters. */
  BURY("select r.lease, r.outcome from %s._nack(?, ?, ?, ?, ?, true) r"),
  EXTEND("select r, null from %s._extend(?, ?, ?, ?) r"),
  /** Give back a lease never used; the attempt does not count. */
  RELEASE("select r, null from %s._release(?, ?, ?) r");

  /** Deliveries refused for a stale lease, and those that moved to the dead letters. */
  record Result(List<Delivery> stale, List<Delivery> dead) {}

  private final String sql;

  Settlement(String sql) {
    this.sql = sql;
  }

  /**
   * {@code ms} is the retry delay for NACK and the new lease length for EXTEND. {@code own} says
   * the statement is a transaction of pgbroker's own, which may then commit asynchronously.
   */
  Result run(Connection c, String schema, boolean own, Collection<Delivery> deliveries, Long ms,
      String error) throws SQLException {
    Map<String, List<Delivery>> byQueue = new LinkedHashMap<>();
    for (Delivery d : deliveries) {
      byQueue.computeIfAbsent(Objects.requireNonNull(d, "delivery").queue(), q -> new ArrayList<>()).add(d);
    }
    List<Delivery> stale = new ArrayList<>();
    List<Delivery> dead = new ArrayList<>();
    for (Map.Entry<String, List<Delivery>> e : byQueue.entrySet()) {
      List<Delivery> batch = e.getValue();
      Map<UUID, String> settled = execute(c, schema, own, e.getKey(), batch, ms, error);
      for (Delivery d : batch) {
        String outcome = settled.get(d.lease());
        if (outcome == null) {
          stale.add(d);
        } else if (outcome.equals("dead")) {
          dead.add(d);
        }
      }
    }
    return new Result(stale, dead);
  }

  private Map<UUID, String> execute(Connection c, String schema, boolean own, String queue,
      List<Delivery> batch, Long ms, String error) throws SQLException {
    int n = batch.size();
    String statement = String.format(sql, schema) + (own ? Sql.ASYNC_COMMIT : "");
    try (PreparedStatement ps = c.prepareStatement(statement)) {
      ps.setString(1, queue); // queue name
      ps.setArray(2, c.createArrayOf("bigint", batch.stream().map(Delivery::id).toArray())); // ids
      ps.setArray(3, c.createArrayOf("uuid", batch.stream().map(Delivery::lease).toArray())); // leases
      if (this == NACK || this == BURY) {
        ps.setArray(4, c.createArrayOf("bigint", filled(n, ms))); // retry delays; null: backoff
        ps.setArray(5, c.createArrayOf("text", filled(n, error))); // error texts
      } else if (this == EXTEND) {
        ps.setLong(4, ms); // new lease length from now, ms
      }
      Map<UUID, String> settled = new HashMap<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          settled.put(rs.getObject(1, UUID.class), String.valueOf(rs.getString(2)));
        }
      }
      return settled;
    }
  }

  private static Object[] filled(int n, Object value) {
    Object[] a = new Object[n];
    Arrays.fill(a, value);
    return a;
  }
}
