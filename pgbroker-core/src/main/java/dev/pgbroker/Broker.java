package dev.pgbroker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * The front door: durable queues in the PostgreSQL database behind a {@link DataSource}.
 *
 * <pre>{@code
 * Broker broker = Broker.create(dataSource).build();   // applies the schema migrations
 * broker.createQueue("emails");
 * broker.send("emails", new Email("ada@example.com"));
 * for (Delivery d : broker.receive("emails", 10)) { ...; broker.ack(d); }
 * }</pre>
 *
 * <p>Methods taking a {@link Connection} run inside the caller's open transaction: a message sent
 * there exists only if that transaction commits, and an ack there commits together with the
 * caller's own writes. The other methods each run as a transaction of their own.
 *
 * <p>Safe to share between threads; one instance per application is the intended use. {@link
 * #close()} stops its background notifier thread.
 */
public final class Broker implements AutoCloseable {
  public static final String DEFAULT_SCHEMA = "pgbroker";
  /** The schema version this pgbroker migrates to; {@link #migrate()} leaves the schema there. */
  public static final int SCHEMA_VERSION = Migrations.FILES.size();
  /** Dead rows in the message table above which {@link #maintain()} vacuums it. */
  static final long VACUUM_DEAD_ROWS = 50_000;
  /** Most messages one receive may return. */
  public static final int MAX_RECEIVE = 10_000;

  private static final Pattern QUEUE_NAME = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,62}");
  private static final Pattern SCHEMA_NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  private final DataSource dataSource;
  private final String schema;
  private final ObjectMapper mapper;
  private final Rows rows;
  private final Notifier notifier;

  private Broker(Builder b) {
    this.dataSource = b.dataSource;
    this.schema = b.schema;
    this.mapper = b.mapper;
    this.rows = new Rows(mapper);
    this.notifier = new Notifier(dataSource, Notifier.channel(schema));
  }

  /** Starts configuring a broker over {@code dataSource}. */
  public static Builder create(DataSource dataSource) {
    return new Builder(dataSource);
  }

  /** Configures a {@link Broker}; each setter checks its value at once. */
  public static final class Builder {
    private final DataSource dataSource;
    private String schema = DEFAULT_SCHEMA;
    private ObjectMapper mapper;
    private boolean migrate = true;

    private Builder(DataSource dataSource) {
      this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    }

    /** The PostgreSQL schema holding pgbroker's tables and functions (default "pgbroker"). */
    public Builder schema(String schema) {
      if (schema == null || !SCHEMA_NAME.matcher(schema).matches()) {
        throw new IllegalArgumentException("schema must match " + SCHEMA_NAME + ", was " + quote(schema));
      }
      this.schema = schema;
      return this;
    }

    /** The Jackson mapper for payloads (default: one with Java time support). */
    public Builder objectMapper(ObjectMapper mapper) {
      this.mapper = Objects.requireNonNull(mapper, "mapper");
      return this;
    }

    /** Whether {@link #build()} applies missing schema migrations (default true). */
    public Builder migrate(boolean migrate) {
      this.migrate = migrate;
      return this;
    }

    public Broker build() {
      if (mapper == null) {
        mapper = JsonMapper.builder().addModule(new JavaTimeModule()).build();
      }
      Broker broker = new Broker(this);
      if (migrate) {
        broker.migrate();
      }
      return broker;
    }
  }

  /** Applies missing schema migrations; returns how many. Safe to run from many instances. */
  public int migrate() {
    return Migrations.apply(dataSource, schema);
  }

  public String schema() {
    return schema;
  }

  // ---- queues

  /** Creates the queue with default settings; does nothing if it exists. */
  public void createQueue(String queue) {
    createQueue(queue, QueueOptions.defaults());
  }

  /** Creates the queue, or changes the settings given in {@code options} if it exists. */
  public void createQueue(String queue, QueueOptions options) {
    checkQueueName(queue);
    Objects.requireNonNull(options, "options");
    String json = toJson(options.given());
    Sql.run(dataSource, "create queue " + queue, c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "select " + schema + ".create_queue(?, ?::jsonb)")) {
        ps.setString(1, queue); // queue name
        ps.setString(2, json); // the settings given, as create_queue option keys
        ps.execute();
      }
      return null;
    });
  }

  /** Deletes the queue with its messages, dead letters and archive; false if it did not exist. */
  public boolean deleteQueue(String queue) {
    checkQueueName(queue);
    return Sql.run(dataSource, "delete queue " + queue, c -> {
      try (PreparedStatement ps = c.prepareStatement("select " + schema + ".delete_queue(?)")) {
        ps.setString(1, queue); // queue name
        return single(ps, rs -> rs.getBoolean(1));
      }
    });
  }

  /** Names of all queues, sorted. */
  public List<String> queues() {
    return Sql.run(dataSource, "list queues", c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "select name from " + schema + ".queue order by name");
          ResultSet rs = ps.executeQuery()) {
        List<String> names = new ArrayList<>();
        while (rs.next()) {
          names.add(rs.getString(1));
        }
        return names;
      }
    });
  }

  /** The queue's current settings. */
  public QueueOptions queueOptions(String queue) {
    checkQueueName(queue);
    String json = Sql.run(dataSource, "read settings of queue " + queue, c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "select to_jsonb(q) - 'name' - 'created_at' from " + schema + "._find_queue(?) q")) {
        ps.setString(1, queue); // queue name; _queue raises for an unknown one
        return single(ps, rs -> rs.getString(1));
      }
    });
    return QueueOptions.fromColumns(rows.map(json));
  }

  // ---- send

  /** Sends one message now; returns its id. */
  public long send(String queue, Object payload) {
    return send(queue, payload, SendOptions.none());
  }

  /** Sends one message; returns its id (an existing message's id on a dedup hit). */
  public long send(String queue, Object payload, SendOptions options) {
    return sendBatch(queue, Collections.singletonList(payload), options).get(0);
  }

  /** Sends one message inside the caller's transaction: it exists only if that commits. */
  public long send(Connection tx, String queue, Object payload, SendOptions options) {
    return sendBatch(tx, queue, Collections.singletonList(payload), options).get(0);
  }

  /** Sends many messages in one statement; returns their ids in order. */
  public List<Long> sendBatch(String queue, List<?> payloads) {
    return sendBatch(queue, payloads, SendOptions.none());
  }

  /** Sends many messages with the same options in one statement (no dedup key: it is per message). */
  public List<Long> sendBatch(String queue, List<?> payloads, SendOptions options) {
    List<Long> ids = Sql.run(dataSource, "send to " + queue, c -> insert(c, queue, payloads, options));
    notifier.changed(queue);
    return ids;
  }

  /**
   * Sends many messages inside the caller's transaction. It cannot be seen to commit, so workers
   * are notified a few times over the following second (and they poll as well).
   */
  public List<Long> sendBatch(Connection tx, String queue, List<?> payloads, SendOptions options) {
    List<Long> ids = Sql.onCaller(tx, "send to " + queue, c -> insert(c, queue, payloads, options));
    notifier.changedInTransaction(queue);
    return ids;
  }

  private List<Long> insert(Connection c, String queue, List<?> payloads, SendOptions options)
      throws SQLException {
    checkQueueName(queue);
    Objects.requireNonNull(options, "options");
    if (payloads == null || payloads.isEmpty()) {
      throw new IllegalArgumentException("a send needs at least one payload, got none");
    }
    if (payloads.size() > 1 && options.dedupKey() != null) {
      throw new IllegalArgumentException(
          "a dedup key names one message; send deduplicated messages one at a time");
    }
    int n = payloads.size();
    String[] json = new String[n];
    for (int i = 0; i < n; i++) {
      json[i] = payloadJson(payloads.get(i), i);
    }
    try (PreparedStatement ps = c.prepareStatement("select * from " + schema
        + "._send(?, ?::jsonb[], ?::jsonb, ?, ?, ?, ?)")) {
      ps.setString(1, queue); // queue name
      ps.setArray(2, c.createArrayOf("text", json)); // payloads, one per message
      ps.setString(3, options.headers().isEmpty() ? null : toJson(options.headers())); // headers
      ps.setLong(4, options.delay().toMillis()); // delay before due, ms
      ps.setInt(5, options.priority()); // priority
      ps.setString(6, options.dedupKey()); // dedup key, or null
      ps.setString(7, options.orderingKey()); // ordering key, or null
      try (ResultSet rs = ps.executeQuery()) {
        List<Long> ids = new ArrayList<>(n);
        while (rs.next()) {
          ids.add(rs.getLong(1));
        }
        return ids;
      }
    }
  }

  private String payloadJson(Object payload, int index) {
    if (payload == null) {
      throw new IllegalArgumentException("payload " + index + " is null; send JSON null as Json.of(\"null\")");
    }
    return payload instanceof Json j ? j.text() : toJson(payload);
  }

  // ---- receive and settle

  /** Leases up to {@code max} deliverable messages for the queue's visibility timeout. */
  public List<Delivery> receive(String queue, int max) {
    return receive(queue, max, null);
  }

  /** Leases up to {@code max} deliverable messages for {@code visibilityTimeout}. */
  public List<Delivery> receive(String queue, int max, Duration visibilityTimeout) {
    checkQueueName(queue);
    if (max < 1 || max > MAX_RECEIVE) {
      throw new IllegalArgumentException("max must be between 1 and " + MAX_RECEIVE + ", was " + max);
    }
    Long vt = visibilityTimeout == null ? null
        : QueueOptions.positiveMillis("visibilityTimeout", visibilityTimeout);
    return Sql.run(dataSource, "receive from " + queue, c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "select r.* from " + schema + ".read(?, ?, ?::bigint) r" + Sql.ASYNC_COMMIT)) {
        ps.setString(1, queue); // queue name
        ps.setInt(2, max); // most messages to lease
        ps.setObject(3, vt, Types.BIGINT); // lease length in ms; null: queue default
        List<Delivery> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(rows.delivery(queue, rs));
          }
        }
        out.sort(Comparator.comparingInt(Delivery::priority).reversed()
            .thenComparingLong(Delivery::id));
        return out;
      }
    });
  }

  /** Acknowledges: the message is finished. Throws {@link StaleLeaseException} if the lease is stale. */
  public void ack(Delivery delivery) {
    requireSettled("ack", delivery, ackAll(List.of(delivery)));
  }

  /** Acknowledges inside the caller's transaction, so the ack commits with the caller's writes. */
  public void ack(Connection tx, Delivery delivery) {
    requireSettled("ack", delivery,
        Sql.onCaller(tx, "ack", c -> settle(c, List.of(delivery), Settlement.ACK, null, null)).stale());
  }

  /** Acknowledges many in one statement per queue; returns those refused for a stale lease. */
  public List<Delivery> ackAll(Collection<Delivery> deliveries) {
    return settle(deliveries, Settlement.ACK, null, null).stale();
  }

  /** Acknowledges many inside the caller's transaction; returns those refused for a stale lease. */
  public List<Delivery> ackAll(Connection tx, Collection<Delivery> deliveries) {
    return Sql.onCaller(tx, "ack", c -> settle(c, deliveries, Settlement.ACK, null, null)).stale();
  }

  /**
   * Fails a delivery: it is retried after the queue's backoff, or dead-lettered if its attempts
   * are used up. Returns true if it will be retried.
   */
  public boolean nack(Delivery delivery, String error) {
    return nack(delivery, error, null);
  }

  /** Fails a delivery and retries it after {@code delay} (null: the queue's backoff). */
  public boolean nack(Delivery delivery, String error, Duration delay) {
    Long ms = delay == null ? null : QueueOptions.nonNegativeMillis("delay", delay);
    Settlement.Result s = settle(List.of(delivery), Settlement.NACK, ms, error);
    requireSettled("nack", delivery, s.stale());
    return s.dead().isEmpty();
  }

  /** Moves a delivery straight to the dead-letter store, whatever attempts it has left. */
  public void deadLetter(Delivery delivery, String error) {
    Settlement.Result s = settle(List.of(delivery), Settlement.BURY, null, error);
    requireSettled("dead-letter", delivery, s.stale());
  }

  /** Keeps the lease for {@code extension} from now. */
  public void extend(Delivery delivery, Duration extension) {
    long ms = QueueOptions.positiveMillis("extension", extension);
    Settlement.Result s = settle(List.of(delivery), Settlement.EXTEND, ms, null);
    requireSettled("extend the lease of", delivery, s.stale());
  }

  /** Settles deliveries on the caller's connection; see {@link Settlement}. */
  Settlement.Result settle(Connection c, Collection<Delivery> deliveries, Settlement how, Long ms, String error)
      throws SQLException {
    return how.run(c, schema, false, deliveries, ms, error);
  }

  private static void requireSettled(String action, Delivery d, List<Delivery> stale) {
    if (!stale.isEmpty()) {
      throw new StaleLeaseException(action, d);
    }
  }

  /** Settles deliveries on a pooled connection; see {@link Settlement}. */
  Settlement.Result settle(Collection<Delivery> deliveries, Settlement how, Long ms, String error) {
    return Sql.run(dataSource, how.name().toLowerCase(Locale.ROOT),
        c -> how.run(c, schema, true, deliveries, ms, error));
  }

  /** Milliseconds until a message of the queue becomes due by time alone, or null if none. */
  Long nextDueMs(String queue) {
    return Sql.run(dataSource, "next due time of " + queue, c -> {
      try (PreparedStatement ps = c.prepareStatement("select " + schema + "._next_due_ms(?)")) {
        ps.setString(1, queue); // queue name
        return single(ps, rs -> rs.getObject(1) == null ? null : rs.getLong(1));
      }
    });
  }

  // ---- workers

  /** Starts configuring a {@link Worker} that runs handlers for this broker's queues. */
  public Worker.Builder worker() {
    return new Worker.Builder(this);
  }

  /**
   * Runs upkeep unless another instance is: prunes the archive and expired dedup keys, folds
   * counters, and vacuums the message table once it holds many dead rows (for servers whose
   * autovacuum is off or behind; a user without the right to vacuum just gets a warning).
   */
  public void maintain() {
    Sql.run(dataSource, "maintenance", c -> {
      boolean leader;
      try (PreparedStatement ps = c.prepareStatement("select " + schema + ".maintain()")) {
        leader = single(ps, rs -> rs.getBoolean(1));
      }
      if (leader && c.getAutoCommit()) { // VACUUM cannot run inside a transaction
        long dead;
        try (PreparedStatement ps = c.prepareStatement(
            "select coalesce(n_dead_tup, 0) from pg_stat_all_tables where relid = ?::regclass")) {
          ps.setString(1, schema + ".message"); // the hot table
          dead = single(ps, rs -> rs.getLong(1));
        }
        if (dead > VACUUM_DEAD_ROWS) {
          try (Statement st = c.createStatement()) {
            st.execute("vacuum " + schema + ".message");
          }
        }
      }
      return null;
    });
  }

  /** Stops the notifier thread. Sends still work afterwards; workers then learn of them by polling. */
  @Override
  public void close() {
    notifier.close();
  }

  // ---- dead letters and stats

  /** The dead-letter store of one queue: list, inspect, replay, purge. */
  public DeadLetterStore deadLetters(String queue) {
    checkQueueName(queue);
    return new DeadLetterStore(this, queue);
  }

  /** Counts of one queue's messages by state, and its lifetime counters. */
  public QueueStats stats(String queue) {
    checkQueueName(queue);
    return Sql.run(dataSource, "stats of queue " + queue, c -> {
      try (PreparedStatement fold = c.prepareStatement("select " + schema + ".maintain()")) {
        fold.execute(); // folds counter rows so that stats stay one cheap read
      }
      try (PreparedStatement ps = c.prepareStatement("select * from " + schema + ".stats(?)")) {
        ps.setString(1, queue); // queue name
        return single(ps, rs -> new QueueStats(queue, rs.getLong("ready"), rs.getLong("delayed"),
            rs.getLong("in_flight"), rs.getLong("dead"),
            Duration.ofMillis(rs.getLong("oldest_ready_age_ms")), rs.getLong("sent"),
            rs.getLong("acked"), rs.getLong("failed"), rs.getLong("dead_lettered")));
      }
    });
  }

  // ---- shared helpers

  DataSource dataSource() {
    return dataSource;
  }

  Rows rows() {
    return rows;
  }

  static void checkQueueName(String queue) {
    if (queue == null || !QUEUE_NAME.matcher(queue).matches()) {
      throw new IllegalArgumentException("invalid queue name " + quote(queue)
          + ": use 1 to 63 characters of a-z, 0-9, \"_\", \".\" or \"-\", starting with a letter or digit");
    }
  }

  private static String quote(String s) {
    return s == null ? "null" : "'" + s + "'";
  }

  private String toJson(Object value) {
    try {
      return mapper.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("cannot write " + value.getClass().getName()
          + " as JSON: " + e.getOriginalMessage(), e);
    }
  }

  interface RowMapper<T> {
    T map(ResultSet rs) throws SQLException;
  }

  static <T> T single(PreparedStatement ps, RowMapper<T> mapper) throws SQLException {
    try (ResultSet rs = ps.executeQuery()) {
      rs.next();
      return mapper.map(rs);
    }
  }
}
