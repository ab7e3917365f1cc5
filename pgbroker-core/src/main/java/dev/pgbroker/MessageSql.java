package dev.pgbroker;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The statements about messages: send, read, settle and the next due time. Methods taking a {@link
 * Connection} run on it inside whatever transaction it has open; the others run as one transaction
 * of their own on a pooled connection.
 */
final class MessageSql {
  /** Deliveries refused for a stale lease, and those that moved to the dead letters. */
  record Settled(List<Delivery> stale, List<Delivery> dead) {}

  private final DataSource dataSource;
  private final String schema;
  private final Rows rows;

  MessageSql(DataSource dataSource, String schema, Rows rows) {
    this.dataSource = dataSource;
    this.schema = schema;
    this.rows = rows;
  }

  DataSource dataSource() {
    return dataSource;
  }

  /** Stores the payloads (JSON texts) with the same options in one statement; returns their ids. */
  List<Long> send(
      Connection c, String queue, String[] payloads, String headersJson, SendOptions options)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sendCall("_send", "*"))) {
      bindSend(c, ps, queue, payloads, headersJson, options);
      return Sql.list(ps, rs -> rs.getLong(1));
    }
  }

  /**
   * Stores a copy of the payloads in every subscription of the topic whose filter accepts the
   * headers, in one statement; returns each subscription's queue with its number of copies.
   */
  Map<String, Integer> publish(
      Connection c, String topic, String[] payloads, String headersJson, SendOptions options)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sendCall("_publish", "queue, copies"))) {
      bindSend(c, ps, topic, payloads, headersJson, options);
      Map<String, Integer> copies = new LinkedHashMap<>();
      for (Map.Entry<String, Integer> e :
          Sql.list(ps, rs -> Map.entry(rs.getString(1), rs.getInt(2)))) {
        copies.put(e.getKey(), e.getValue());
      }
      return copies;
    }
  }

  /** _send and _publish take the same arguments: a target, then the payloads and their options. */
  private String sendCall(String function, String columns) {
    return "select "
        + columns
        + " from "
        + schema
        + "."
        + function
        + "(?, ?::jsonb[], ?::jsonb, ?, ?, ?, ?, ?, false, ?, ?::bigint[])";
  }

  private static void bindSend(
      Connection c,
      PreparedStatement ps,
      String target,
      String[] payloads,
      String headersJson,
      SendOptions options)
      throws SQLException {
    ps.setString(1, target); // queue or topic name
    ps.setArray(2, c.createArrayOf("text", payloads)); // payloads, one per message
    ps.setString(3, headersJson); // headers, or null for none
    ps.setLong(4, options.delay().toMillis()); // delay before due, ms
    ps.setObject(
        5,
        options.deliverAt() == null
            ? null // due time; null: the delay decides
            : options.deliverAt().atOffset(ZoneOffset.UTC),
        Types.TIMESTAMP_WITH_TIMEZONE);
    ps.setInt(6, options.priority()); // priority
    ps.setString(7, options.dedupKey()); // dedup key, or null
    ps.setString(8, options.orderingKey()); // ordering key, or null
    // (false: no NOTIFY in this transaction; the broker notifies after its commit)
    ps.setObject(9, options.maxAttempts(), Types.INTEGER); // own attempt limit; null: queue's
    Long[] backoff = options.backoffMillis();
    ps.setArray(10, backoff == null ? null : c.createArrayOf("bigint", backoff)); // own schedule
  }

  /**
   * Leases up to {@code max} messages, at most {@code runMax} of one ordering key (a run sharing
   * one lease), for {@code leaseMs} (null: the queue's visibility timeout). {@code ownRuns}: the
   * leases of runs the caller is still handling, which may grow by the messages of their keys that
   * come next (null: none). Sorted by priority, then id; a run's members may differ in priority, so
   * group runs by lease before sorting.
   */
  List<Delivery> read(String queue, int max, Long leaseMs, int runMax, Collection<UUID> ownRuns) {
    return Sql.run(
        dataSource,
        "read from " + queue,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "select r.* from "
                      + schema
                      + "._read(?, ?, ?::bigint, ?, ?::uuid[]) r"
                      + Sql.ASYNC_COMMIT)) {
            ps.setString(1, queue); // queue name
            ps.setInt(2, max); // most messages to lease
            ps.setObject(3, leaseMs, Types.BIGINT); // lease length in ms; null: queue default
            ps.setInt(4, runMax); // most messages of one ordering key
            ps.setArray( // leases of runs the caller is still handling, or null
                5, ownRuns == null ? null : c.createArrayOf("uuid", ownRuns.toArray()));
            List<Delivery> out = Sql.list(ps, rs -> rows.delivery(queue, rs));
            out.sort(
                Comparator.comparingInt(Delivery::priority)
                    .reversed()
                    .thenComparingLong(Delivery::id));
            return out;
          }
        });
  }

  /**
   * Live messages of the queue, oldest first, at most {@code limit}; or only the one with {@code
   * id} when not null.
   */
  List<QueuedMessage> list(String queue, Long id, int limit) {
    return Sql.queueRows(
        dataSource,
        schema,
        "message",
        "t.*, t.lease is not null and t.visible_at > clock_timestamp() as leased",
        queue,
        id,
        limit,
        rows::queued);
  }

  /** Milliseconds until a message of the queue becomes due by time alone, or null if none. */
  Long nextDueMs(String queue) {
    return Sql.run(
        dataSource,
        "next due time of " + queue,
        c -> {
          try (PreparedStatement ps = c.prepareStatement("select " + schema + "._next_due_ms(?)")) {
            ps.setString(1, queue); // queue name
            return Sql.single(ps, rs -> rs.getObject(1) == null ? null : rs.getLong(1));
          }
        });
  }

  // ---- settle: one statement per queue over arrays of ids and leases

  Settled ack(Connection c, Collection<Delivery> ds) throws SQLException {
    return settle(c, ds, "select r.id, r.lease, null from %s._ack(?, ?, ?) r", (ps, n) -> {});
  }

  /**
   * Retries after {@code delayMs} (null: the message's backoff), or dead-letters a last attempt.
   * {@code trace} (may be null) goes into the history entry beside the error.
   */
  Settled nack(Connection c, Collection<Delivery> ds, Long delayMs, String error, String trace)
      throws SQLException {
    return fail(c, ds, delayMs, error, trace, null);
  }

  /** Moves the deliveries to the dead letters whatever attempts they have left. */
  Settled deadLetter(Connection c, Collection<Delivery> ds, String error, String trace)
      throws SQLException {
    return fail(c, ds, null, error, trace, "dead");
  }

  /** Retries after {@code delayMs} (null: the backoff) even after a last attempt. */
  Settled retry(Connection c, Collection<Delivery> ds, Long delayMs, String error, String trace)
      throws SQLException {
    return fail(c, ds, delayMs, error, trace, "retry");
  }

  private Settled fail(
      Connection c, Collection<Delivery> ds, Long delayMs, String error, String trace, String force)
      throws SQLException {
    return settle(
        c,
        ds,
        "select r.id, r.lease, r.outcome from %s._nack(?, ?, ?, ?, ?, false, ?, ?) r",
        (ps, n) -> {
          ps.setArray(4, c.createArrayOf("bigint", filled(n, delayMs))); // retry delays
          ps.setArray(5, c.createArrayOf("text", filled(n, Checks.errorText(error)))); // errors
          ps.setArray(6, c.createArrayOf("text", filled(n, Checks.errorText(trace)))); // traces
          ps.setString(7, force); // 'dead', 'retry', or null: by attempts left
        });
  }

  /** Keeps the leases for {@code ms} from now; a lease that already ran out is stale. */
  Settled extend(Connection c, Collection<Delivery> ds, long ms) throws SQLException {
    return settle(
        c,
        ds,
        "select r.id, r.lease, null from %s._extend(?, ?, ?, ?) r",
        (ps, n) -> ps.setLong(4, ms)); // new lease length from now, ms
  }

  /** Gives back leases never used: due again at once, and the attempt does not count. */
  Settled release(Connection c, Collection<Delivery> ds) throws SQLException {
    return settle(c, ds, "select r.id, r.lease, null from %s._release(?, ?, ?) r", (ps, n) -> {});
  }

  /** Runs one of the settle methods as a transaction of its own on a pooled connection. */
  <T> T run(String action, Sql.Work<T> work) {
    return Sql.run(dataSource, action, work);
  }

  @FunctionalInterface
  private interface Extra {
    void bind(PreparedStatement ps, int n) throws SQLException;
  }

  /**
   * A statement on a connection in autocommit mode is a transaction of its own, which may then
   * commit asynchronously; one inside the caller's open transaction never does.
   */
  private Settled settle(Connection c, Collection<Delivery> deliveries, String sql, Extra extra)
      throws SQLException {
    Map<String, List<Delivery>> byQueue = new LinkedHashMap<>();
    for (Delivery d : deliveries) {
      Objects.requireNonNull(d, "delivery");
      byQueue.computeIfAbsent(d.queue(), q -> new ArrayList<>()).add(d);
    }
    List<Delivery> stale = new ArrayList<>();
    List<Delivery> dead = new ArrayList<>();
    String statement = String.format(sql, schema) + (c.getAutoCommit() ? Sql.ASYNC_COMMIT : "");
    for (Map.Entry<String, List<Delivery>> e : byQueue.entrySet()) {
      List<Delivery> batch = e.getValue();
      Map<String, String> settled = new HashMap<>(); // "id/lease" to outcome
      try (PreparedStatement ps = c.prepareStatement(statement)) {
        ps.setString(1, e.getKey()); // queue name
        ps.setArray(2, c.createArrayOf("bigint", batch.stream().map(Delivery::id).toArray()));
        ps.setArray(3, c.createArrayOf("uuid", batch.stream().map(Delivery::lease).toArray()));
        extra.bind(ps, batch.size());
        for (String[] row :
            Sql.list(
                ps,
                rs ->
                    new String[] {
                      rs.getLong(1) + "/" + rs.getString(2), String.valueOf(rs.getString(3))
                    })) {
          settled.put(row[0], row[1]);
        }
      }
      for (Delivery d : batch) {
        String outcome = settled.get(d.id() + "/" + d.lease());
        if (outcome == null) {
          stale.add(d);
        } else if (outcome.equals("dead")) {
          dead.add(d);
        }
      }
    }
    return new Settled(stale, dead);
  }

  private static Object[] filled(int n, Object value) {
    Object[] a = new Object[n];
    Arrays.fill(a, value);
    return a;
  }
}
