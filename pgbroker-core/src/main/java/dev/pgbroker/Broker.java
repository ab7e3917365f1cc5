package dev.pgbroker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import javax.sql.DataSource;

/**
 * The front door: durable queues in the PostgreSQL database behind a {@link DataSource}.
 *
 * <pre>{@code
 * Broker broker = Broker.create(dataSource).build();   // applies the schema migrations
 * broker.createQueue("emails");
 * broker.send("emails", new Email("ada@example.com"));
 * for (Delivery d : broker.read("emails", 10)) { ...; broker.ack(d); }
 * }</pre>
 *
 * <p>Methods taking a {@link Connection} run inside the caller's open transaction: a message sent
 * there exists only if that transaction commits, and an ack there commits together with the
 * caller's own writes. The other methods each run as a transaction of their own.
 *
 * <p>The broker is the front door only: it checks arguments, turns payloads into JSON and hands the
 * work to the statements in {@code QueueSql}, {@code MessageSql} and {@code DeadLetterSql}, which
 * the {@link Worker} it builds uses as well.
 *
 * <p>Safe to share between threads; one instance per application is the intended use. {@link
 * #close()} stops its background notifier thread.
 */
public final class Broker implements AutoCloseable {
  public static final String DEFAULT_SCHEMA = "pgbroker";

  /** The table version this pgbroker migrates to; {@link #migrate()} leaves the schema there. */
  public static final int SCHEMA_VERSION = Migrations.TABLES.size();

  /** Most messages one read may return. */
  public static final int MAX_READ = Checks.MAX_READ;

  private final DataSource dataSource;
  private final String schema;
  private final ObjectMapper mapper;
  private final QueueSql queues;
  private final MessageSql messages;
  private final DeadLetterSql deadLetters;
  private final ArchiveSql archive;
  private final Notifier notifier;
  private final Topics topics;
  private final Schedules schedules;

  private Broker(Builder b) {
    this.dataSource = b.dataSource;
    this.schema = b.schema;
    this.mapper = b.mapper;
    Rows rows = new Rows(mapper);
    this.queues = new QueueSql(dataSource, schema, rows);
    this.messages = new MessageSql(dataSource, schema, rows);
    this.deadLetters = new DeadLetterSql(dataSource, schema, rows);
    this.archive = new ArchiveSql(dataSource, schema, rows);
    this.notifier = new Notifier(dataSource, Notifier.channel(schema));
    this.topics = new Topics(new TopicSql(dataSource, schema, mapper), mapper);
    this.schedules = new Schedules(new ScheduleSql(dataSource, schema), mapper);
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
      this.schema = Checks.schemaName(schema);
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

  /**
   * The whole schema as one plain SQL script, for installing it with psql, Flyway or Liquibase;
   * {@link #migrate()} finds a schema installed this way current.
   */
  public static String schemaScript(String schema) {
    return Migrations.script(Checks.schemaName(schema));
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
    Checks.queueName(queue);
    Objects.requireNonNull(options, "options");
    queues.create(queue, toJson(options.given()));
  }

  /** Deletes the queue with its messages, dead letters and archive; false if it did not exist. */
  public boolean deleteQueue(String queue) {
    return queues.delete(Checks.queueName(queue));
  }

  /** Names of all queues, sorted. */
  public List<String> queues() {
    return queues.names();
  }

  /** The queue's current settings. */
  public QueueOptions queueOptions(String queue) {
    return queues.options(Checks.queueName(queue));
  }

  /** Counts of one queue's messages by state, and its lifetime counters. Writes nothing. */
  public QueueStats stats(String queue) {
    return queues.stats(Checks.queueName(queue));
  }

  /**
   * Warnings for what needs an operator: queues whose oldest ready message waited over 5 minutes,
   * tables with over 100,000 dead rows, transactions open over 1 minute (holding back vacuum).
   * Reads only.
   */
  public Health health() {
    return health(Health.Thresholds.DEFAULT);
  }

  /** {@link #health()} with thresholds of your own. */
  public Health health(Health.Thresholds thresholds) {
    Objects.requireNonNull(thresholds, "thresholds");
    return new HealthSql(dataSource, schema).check(thresholds);
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

  /**
   * Sends many messages with the same options in one statement (no dedup key: it is per message).
   */
  public List<Long> sendBatch(String queue, List<?> payloads, SendOptions options) {
    List<Long> ids =
        Sql.run(dataSource, "send to " + queue, c -> insert(c, queue, payloads, options));
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
    Checks.queueName(queue);
    return messages.send(c, queue, payloadsJson(payloads, options), headersJson(options), options);
  }

  // ---- schedules and topics

  /**
   * Recurring schedules: each tick sends one message to a queue, fired by whichever running worker
   * gets to it first, exactly once per tick.
   */
  public Schedules schedules() {
    return schedules;
  }

  /** Topics and their subscriptions: make, remove and list them. */
  public Topics topics() {
    return topics;
  }

  /**
   * Publishes one message: every subscription of the topic whose filter accepts it gets a copy.
   * Returns the number of copies; the topic must exist ({@link Topics#create}).
   */
  public int publish(String topic, Object payload) {
    return publish(topic, payload, SendOptions.none());
  }

  /** Publishes one message with options (its {@link SendOptions#type type} is what filters see). */
  public int publish(String topic, Object payload, SendOptions options) {
    return publishBatch(topic, Collections.singletonList(payload), options);
  }

  /** Publishes one message inside the caller's transaction: no copy exists unless it commits. */
  public int publish(Connection tx, String topic, Object payload, SendOptions options) {
    return publishBatch(tx, topic, Collections.singletonList(payload), options);
  }

  /** Publishes many messages with the same options in one statement; returns the copies made. */
  public int publishBatch(String topic, List<?> payloads, SendOptions options) {
    Map<String, Integer> copies =
        Sql.run(dataSource, "publish to " + topic, c -> fanOut(c, topic, payloads, options));
    copies.keySet().forEach(notifier::changed);
    return total(copies);
  }

  /** Publishes many messages inside the caller's transaction, all or none across subscriptions. */
  public int publishBatch(Connection tx, String topic, List<?> payloads, SendOptions options) {
    Map<String, Integer> copies =
        Sql.onCaller(tx, "publish to " + topic, c -> fanOut(c, topic, payloads, options));
    copies.keySet().forEach(notifier::changedInTransaction);
    return total(copies);
  }

  private Map<String, Integer> fanOut(
      Connection c, String topic, List<?> payloads, SendOptions options) throws SQLException {
    Checks.name("topic", topic);
    return messages.publish(
        c, topic, payloadsJson(payloads, options), headersJson(options), options);
  }

  private static int total(Map<String, Integer> copies) {
    return copies.values().stream().mapToInt(Integer::intValue).sum();
  }

  private String[] payloadsJson(List<?> payloads, SendOptions options) {
    Objects.requireNonNull(options, "options");
    if (payloads == null || payloads.isEmpty()) {
      throw new IllegalArgumentException("a send needs at least one payload, got none");
    }
    if (payloads.size() > 1 && options.dedupKey() != null) {
      throw new IllegalArgumentException(
          "a dedup key names one message; send deduplicated messages one at a time");
    }
    String[] json = new String[payloads.size()];
    for (int i = 0; i < json.length; i++) {
      json[i] = payloadJson(payloads.get(i), i);
    }
    return json;
  }

  private String headersJson(SendOptions options) {
    return options.headers().isEmpty()
        ? null
        : Checks.encodable("headers", toJson(options.headers()));
  }

  private String payloadJson(Object payload, int index) {
    if (payload == null) {
      throw new IllegalArgumentException(
          "payload " + index + " is null; send JSON null as Json.of(\"null\")");
    }
    return Checks.encodable(
        "payload " + index, payload instanceof Json j ? j.text() : toJson(payload));
  }

  // ---- read and settle

  /**
   * Leases up to {@code max} deliverable messages for the queue's visibility timeout, at most one
   * per ordering key.
   */
  public List<Delivery> read(String queue, int max) {
    return read(queue, max, null);
  }

  /** Leases up to {@code max} deliverable messages for {@code visibilityTimeout}. */
  public List<Delivery> read(String queue, int max, Duration visibilityTimeout) {
    Checks.queueName(queue);
    Checks.readMax(max);
    Long ms =
        visibilityTimeout == null
            ? null
            : QueueOptions.positiveMillis("visibilityTimeout", visibilityTimeout);
    return messages.read(queue, max, ms, 1, null);
  }

  /**
   * Acknowledges: the message is finished. Throws {@link StaleLeaseException} if the lease is
   * stale.
   */
  public void ack(Delivery delivery) {
    requireSettled("ack", delivery, ackAll(List.of(delivery)));
  }

  /** Acknowledges inside the caller's transaction, so the ack commits with the caller's writes. */
  public void ack(Connection tx, Delivery delivery) {
    requireSettled("ack", delivery, ackAll(tx, List.of(delivery)));
  }

  /** Acknowledges many in one statement per queue; returns those refused for a stale lease. */
  public List<Delivery> ackAll(Collection<Delivery> deliveries) {
    return messages.run("ack", c -> messages.ack(c, deliveries)).stale();
  }

  /** Acknowledges many inside the caller's transaction; returns those refused for a stale lease. */
  public List<Delivery> ackAll(Connection tx, Collection<Delivery> deliveries) {
    return Sql.onCaller(tx, "ack", c -> messages.ack(c, deliveries)).stale();
  }

  /**
   * Fails a delivery: it is retried after its backoff (its own schedule, else the queue's), or
   * dead-lettered if its attempts (its own limit, else the queue's) are used up. Returns true if it
   * will be retried.
   */
  public boolean nack(Delivery delivery, String error) {
    return nack(delivery, error, null);
  }

  /** Fails a delivery and retries it after {@code delay} (null: its backoff). */
  public boolean nack(Delivery delivery, String error, Duration delay) {
    Long ms = delay == null ? null : QueueOptions.nonNegativeMillis("delay", delay);
    List<Delivery> one = List.of(delivery);
    MessageSql.Settled s = messages.run("nack", c -> messages.nack(c, one, ms, error, null));
    requireSettled("nack", delivery, s.stale());
    return s.dead().isEmpty();
  }

  /** Moves a delivery straight to the dead-letter store, whatever attempts it has left. */
  public void deadLetter(Delivery delivery, String error) {
    List<Delivery> one = List.of(delivery);
    requireSettled(
        "dead-letter",
        delivery,
        messages.run("dead-letter", c -> messages.deadLetter(c, one, error, null)).stale());
  }

  /** Keeps the lease for {@code extension} from now; a lease that already ran out is stale. */
  public void extend(Delivery delivery, Duration extension) {
    long ms = QueueOptions.positiveMillis("extension", extension);
    List<Delivery> one = List.of(delivery);
    requireSettled(
        "extend the lease of",
        delivery,
        messages.run("extend", c -> messages.extend(c, one, ms)).stale());
  }

  private static void requireSettled(String action, Delivery d, List<Delivery> stale) {
    if (!stale.isEmpty()) {
      throw new StaleLeaseException(action, d);
    }
  }

  // ---- workers, dead letters, upkeep

  /** Starts configuring a {@link Worker} that runs handlers for this broker's queues. */
  public Worker.Builder worker() {
    return new Worker.Builder(
        new Worker.Backend(dataSource, schema, queues, messages, deadLetters, schedules.sql()));
  }

  /**
   * The live messages of one queue (ready, delayed, leased, or waiting for their ordering key),
   * oldest first, with their attempts and errors so far. Reads only.
   */
  public MessageBrowser<QueuedMessage> messages(String queue) {
    return new MessageBrowser<>(messages::list, Checks.queueName(queue));
  }

  /**
   * The acknowledged messages one queue keeps for its {@link QueueOptions#retention retention},
   * oldest first, with the errors of the attempts that failed before. Reads only.
   */
  public MessageBrowser<ArchivedMessage> archive(String queue) {
    return new MessageBrowser<>(archive::list, Checks.queueName(queue));
  }

  /** The dead-letter store of one queue: list, inspect, replay, purge. */
  public DeadLetterStore deadLetters(String queue) {
    return new DeadLetterStore(deadLetters, Checks.queueName(queue));
  }

  /**
   * Runs upkeep now unless another instance is: prunes the archive and expired dedup keys, folds
   * counters, and vacuums the message table once it holds many dead rows. Workers run this by
   * themselves under one leader; call it where no worker runs.
   */
  public void maintain() {
    Maintenance.runAll(dataSource, schema);
  }

  /**
   * Stops the notifier thread. Sends still work afterwards; workers then learn of them by polling.
   */
  @Override
  public void close() {
    notifier.close();
  }

  private String toJson(Object value) {
    try {
      return mapper.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "cannot write " + value.getClass().getName() + " as JSON: " + e.getOriginalMessage(), e);
    }
  }
}
