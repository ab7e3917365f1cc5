package dev.pgbroker.relay;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What a {@link Relay} forwards and where: the pgbroker queues (or topic subscriptions) it
 * consumes, the broker it publishes to, per-queue destinations, and how many messages it keeps
 * unconfirmed. Build it in Java with {@link #rabbitMq(String)} or {@link #kafka(String)}, or read
 * it from a properties file with {@link #fromProperties(Properties)}. Immutable.
 */
public final class RelayConfig {
  /** Messages published and not yet confirmed, per relayed queue (default). */
  public static final int DEFAULT_WINDOW = 256;

  public static final int MAX_WINDOW = 4096;

  /** How long a publish may wait for the broker's confirm before it is made again (default). */
  public static final Duration DEFAULT_CONFIRM_TIMEOUT = Duration.ofSeconds(30);

  /** Longest wait between attempts while the broker is unavailable (default). */
  public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofSeconds(5);

  /** How long stopping waits for publishes under way (default). */
  public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(30);

  /** The broker a relay publishes to. */
  public enum SinkKind {
    RABBITMQ,
    KAFKA
  }

  /** A RabbitMQ destination: an exchange ("" is the default exchange) and a routing key. */
  public record Route(String exchange, String routingKey) {
    public Route {
      Objects.requireNonNull(exchange, "exchange");
      Objects.requireNonNull(routingKey, "routingKey");
    }
  }

  // Kafka producer settings that carry the relay's guarantee; a config may not loosen them.
  static final Set<String> FIXED_PRODUCER_SETTINGS =
      Set.of(
          "acks",
          "enable.idempotence",
          "key.serializer",
          "value.serializer",
          "bootstrap.servers",
          "max.in.flight.requests.per.connection");

  private static final Pattern QUEUE_NAME = Pattern.compile("^[a-z0-9][a-z0-9_.-]{0,62}$");

  final SinkKind sink;
  final String target; // the RabbitMQ URI or the Kafka bootstrap servers
  final List<String> queues;
  final int window;
  final Duration confirmTimeout;
  final Duration maxBackoff;
  final Duration drainTimeout;
  final Map<String, Route> routes;
  final Map<String, String> topics;
  final Map<String, String> producer;

  private RelayConfig(Builder b) {
    this.sink = b.sink;
    this.target = b.target;
    this.queues = List.copyOf(b.queues);
    this.window = b.window;
    this.confirmTimeout = b.confirmTimeout;
    this.maxBackoff = b.maxBackoff;
    this.drainTimeout = b.drainTimeout;
    this.routes = Map.copyOf(b.routes);
    this.topics = Map.copyOf(b.topics);
    this.producer = Map.copyOf(b.producer);
  }

  /** Relays to RabbitMQ at {@code uri}, e.g. {@code amqp://guest:guest@127.0.0.1:5672/%2f}. */
  public static Builder rabbitMq(String uri) {
    return new Builder(SinkKind.RABBITMQ, nonBlank("relay.rabbitmq.uri", uri));
  }

  /** Relays to Kafka through {@code bootstrapServers}, e.g. {@code 127.0.0.1:9092}. */
  public static Builder kafka(String bootstrapServers) {
    return new Builder(SinkKind.KAFKA, nonBlank("relay.kafka.bootstrap-servers", bootstrapServers));
  }

  /**
   * Reads a configuration from {@code relay.*} properties (the keys are listed in docs/relay.md),
   * each overridable by an environment variable named after it ({@code
   * relay.kafka.bootstrap-servers} by {@code PGBROKER_RELAY_KAFKA_BOOTSTRAP_SERVERS}). Keys outside
   * {@code relay.} are ignored, so the relay's keys can sit in the server's configuration file; an
   * unknown {@code relay.} key is an error.
   */
  public static RelayConfig fromProperties(Properties properties) {
    return RelayProperties.read(properties, System.getenv());
  }

  public SinkKind sink() {
    return sink;
  }

  public List<String> queues() {
    return queues;
  }

  public int window() {
    return window;
  }

  public Duration confirmTimeout() {
    return confirmTimeout;
  }

  /** Where a message of {@code queue} goes in RabbitMQ unless its headers say otherwise. */
  public Route route(String queue) {
    return routes.getOrDefault(queue, new Route("", queue));
  }

  /** The Kafka topic a message of {@code queue} goes to unless its headers say otherwise. */
  public String topic(String queue) {
    return topics.getOrDefault(queue, queue);
  }

  /** Configures a {@link RelayConfig}; each setter checks its value at once. */
  public static final class Builder {
    private final SinkKind sink;
    private final String target;
    private final List<String> queues = new ArrayList<>();
    private int window = DEFAULT_WINDOW;
    private Duration confirmTimeout = DEFAULT_CONFIRM_TIMEOUT;
    private Duration maxBackoff = DEFAULT_MAX_BACKOFF;
    private Duration drainTimeout = DEFAULT_DRAIN_TIMEOUT;
    private final Map<String, Route> routes = new LinkedHashMap<>();
    private final Map<String, String> topics = new LinkedHashMap<>();
    private final Map<String, String> producer = new LinkedHashMap<>();

    private Builder(SinkKind sink, String target) {
      this.sink = sink;
      this.target = target;
    }

    /** Adds a pgbroker queue (or topic subscription) to relay. */
    public Builder queue(String queue) {
      String q = queueName("queue", queue);
      if (queues.contains(q)) {
        throw new IllegalArgumentException("queue " + q + " is listed twice");
      }
      queues.add(q);
      return this;
    }

    /**
     * Most messages of one queue published and not yet confirmed (default 256): across ordering
     * keys and unkeyed messages; one key never has more than one.
     */
    public Builder window(int window) {
      if (window < 1 || window > MAX_WINDOW) {
        throw new IllegalArgumentException(
            "window must be between 1 and " + MAX_WINDOW + ", was " + window);
      }
      this.window = window;
      return this;
    }

    /** How long a publish waits for the broker's confirm before it is made again (default 30s). */
    public Builder confirmTimeout(Duration timeout) {
      this.confirmTimeout = atLeast("confirmTimeout", timeout, Duration.ofSeconds(1));
      return this;
    }

    /** Longest wait between attempts while the broker is unavailable (default 5s). */
    public Builder maxBackoff(Duration backoff) {
      this.maxBackoff = atLeast("maxBackoff", backoff, Duration.ofMillis(100));
      return this;
    }

    /** How long {@link Relay#close()} waits for publishes under way (default 30s). */
    public Builder drainTimeout(Duration timeout) {
      this.drainTimeout = atLeast("drainTimeout", timeout, Duration.ZERO);
      return this;
    }

    /**
     * RabbitMQ only: publishes messages of {@code queue} to {@code exchange} with {@code
     * routingKey} (default: the default exchange, routing key = the queue's name).
     */
    public Builder route(String queue, String exchange, String routingKey) {
      requireSink(SinkKind.RABBITMQ, "route");
      Objects.requireNonNull(exchange, "exchange");
      Objects.requireNonNull(routingKey, "routingKey");
      routes.put(queueName("route's queue", queue), new Route(exchange, routingKey));
      return this;
    }

    /** Kafka only: publishes messages of {@code queue} to {@code topic} (default: its name). */
    public Builder topic(String queue, String topic) {
      requireSink(SinkKind.KAFKA, "topic");
      topics.put(queueName("topic's queue", queue), nonBlank("topic", topic));
      return this;
    }

    /**
     * Kafka only: one more producer setting, e.g. {@code linger.ms} or {@code batch.size}. The
     * settings that carry the relay's guarantee ({@code acks=all}, idempotence, at most 5 requests
     * in flight) cannot be changed.
     */
    public Builder producerSetting(String name, String value) {
      requireSink(SinkKind.KAFKA, "producerSetting");
      nonBlank("producer setting name", name);
      if (FIXED_PRODUCER_SETTINGS.contains(name)) {
        throw new IllegalArgumentException(
            "producer setting "
                + name
                + " is fixed by the relay (acks=all, idempotence on); settings you may give are"
                + " any other KafkaProducer setting");
      }
      producer.put(name, Objects.requireNonNull(value, "value of " + name));
      return this;
    }

    public RelayConfig build() {
      if (queues.isEmpty()) {
        throw new IllegalStateException("a relay needs at least one queue; add one with queue()");
      }
      return new RelayConfig(this);
    }

    private void requireSink(SinkKind wanted, String setting) {
      if (sink != wanted) {
        throw new IllegalArgumentException(
            setting + " applies to " + wanted + " only; this relay publishes to " + sink);
      }
    }
  }

  static String queueName(String what, String name) {
    if (name == null || !QUEUE_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          what
              + " must be 1 to 63 characters of a-z 0-9 _ . - starting with a letter or digit, was "
              + (name == null ? "null" : "'" + name + "'"));
    }
    return name;
  }

  static String nonBlank(String what, String value) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(what + " must not be empty");
    }
    return value.strip();
  }

  private static Duration atLeast(String what, Duration value, Duration min) {
    Objects.requireNonNull(value, what);
    if (value.compareTo(min) < 0) {
      throw new IllegalArgumentException(what + " must be at least " + min + ", was " + value);
    }
    return value;
  }
}
