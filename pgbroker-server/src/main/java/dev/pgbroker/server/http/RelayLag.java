package dev.pgbroker.server.http;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;

/**
 * How far behind the relay in this process is, per relayed queue: the age of the oldest message
 * still in the queue, whatever its state, since the relay acknowledges a message only once the
 * broker confirmed it, so every message still there is one not yet relayed. Zero for an empty
 * queue. One statement reads every queue, and a reading serves the meters and the dashboard for a
 * second. Safe to share between threads.
 */
final class RelayLag {
  private static final long FRESH_NANOS = 1_000_000_000L;

  private final DataSource dataSource;
  private final List<String> queues;
  private final String sql;
  private Map<String, Duration> last = Map.of();
  private long readAt;

  RelayLag(DataSource dataSource, String schema, List<String> queues) {
    this.dataSource = dataSource;
    this.queues = List.copyOf(queues);
    // The hot table holds only live messages (ready, delayed, leased): a relay that keeps up
    // leaves few rows to look at. The schema name was validated by Broker.
    this.sql =
        "select q.name, (select (extract(epoch from clock_timestamp() - min(m.enqueued_at))"
            + " * 1000)::bigint from "
            + schema
            + ".message m where m.queue = q.name)"
            + " from unnest(?::text[]) with ordinality q(name, n) order by q.n";
  }

  List<String> queues() {
    return queues;
  }

  /** Each relayed queue's lag, in the order the relay's settings name them. */
  synchronized Map<String, Duration> read() {
    if (queues.isEmpty()) {
      return Map.of();
    }
    if (System.nanoTime() - readAt < FRESH_NANOS && !last.isEmpty()) {
      return last;
    }
    Map<String, Duration> lags = new LinkedHashMap<>();
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setArray(1, c.createArrayOf("text", queues.toArray())); // the relayed queues' names
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          long ms = Math.max(0, rs.getLong(2)); // null (an empty queue) reads as 0
          lags.put(rs.getString(1), Duration.ofMillis(ms));
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read the relay's lag: " + e.getMessage(), e);
    }
    last = Collections.unmodifiableMap(lags);
    readAt = System.nanoTime();
    return last;
  }

  /** {@code GET /v1/relay}: {@code {"queues": [{"queue", "lag_ms"}]}}, empty without a relay. */
  Reply reply() {
    List<Object> out = new ArrayList<>();
    read().forEach((queue, lag) -> out.add(Map.of("queue", queue, "lag_ms", lag.toMillis())));
    return Reply.ok(Map.of("queues", out));
  }

  /** For the gauge: seconds, or NaN when the database does not answer (a gap, not a zero). */
  double seconds(String queue) {
    try {
      Duration lag = read().get(queue);
      return lag == null ? Double.NaN : lag.toMillis() / 1000.0;
    } catch (IllegalStateException e) {
      return Double.NaN;
    }
  }
}
