package dev.pgbroker.relay;

import dev.pgbroker.Broker;
import dev.pgbroker.Worker;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The transactional outbox relay: consumes pgbroker queues (or topic subscriptions) and publishes
 * every message to RabbitMQ or Kafka, acknowledging it in pgbroker only after the broker confirmed
 * it.
 *
 * <pre>{@code
 * Relay relay = Relay.start(broker, RelayConfig.kafka("127.0.0.1:9092").queue("orders").build());
 * ...
 * relay.close(); // finishes publishes under way, within the drain timeout
 * }</pre>
 *
 * <p>Guarantees: a message reaches the broker at least once; a crash between the broker's confirm
 * and pgbroker's ack publishes it again with the same message id ({@link #ID_HEADER}, and the AMQP
 * {@code message-id}). Messages of one ordering key are published one at a time, each only after
 * the previous one was confirmed; other keys and unkeyed messages are published concurrently, up to
 * the configured window per queue. A message the broker refuses for good goes to the queue's
 * dead-letter store with the broker's reason; while the broker is down or blocking publishers the
 * relay backs off and tries again, holding the message's lease, and drops nothing.
 *
 * <p>Safe to share between threads.
 */
public final class Relay implements AutoCloseable {
  /** Header naming a message's own RabbitMQ exchange, instead of its queue's route. */
  public static final String EXCHANGE_HEADER = "relay-exchange";

  /** Header naming a message's own RabbitMQ routing key, instead of its queue's route. */
  public static final String ROUTING_KEY_HEADER = "relay-routing-key";

  /** Header naming a message's own Kafka topic, instead of its queue's topic. */
  public static final String TOPIC_HEADER = "relay-topic";

  /** Header carrying pgbroker's message id on every relayed message, for deduplication. */
  public static final String ID_HEADER = "pgbroker-id";

  /** Header carrying the pgbroker queue a relayed message came from. */
  public static final String QUEUE_HEADER = "pgbroker-queue";

  /** Header carrying the ordering key (Kafka uses it as the record key as well). */
  public static final String ORDERING_KEY_HEADER = "pgbroker-ordering-key";

  private final Broker broker;
  private final RelayConfig config;
  private final Sink sink;
  private final Forwarder forwarder;
  private final Worker worker;
  private final AtomicBoolean stopped = new AtomicBoolean();

  private Relay(Broker broker, RelayConfig config, Sink sink) {
    this.broker = broker;
    this.config = config;
    this.sink = sink;
    this.forwarder = new Forwarder(sink, config.confirmTimeout, config.maxBackoff);
    Worker.Builder w = broker.worker().drainTimeout(config.drainTimeout);
    for (String queue : config.queues) {
      w.handleAsync(queue, forwarder).concurrency(queue, config.window);
    }
    try {
      this.worker = w.start();
    } catch (RuntimeException e) {
      forwarder.close();
      sink.close();
      throw e;
    }
  }

  /** Starts relaying with the sink {@code config} names. Every queue must exist. */
  public static Relay start(Broker broker, RelayConfig config) {
    Objects.requireNonNull(config, "config");
    return start(broker, config, Sinks.create(config));
  }

  /** Starts relaying to a sink of your own; the relay closes it when it stops. */
  public static Relay start(Broker broker, RelayConfig config, Sink sink) {
    return new Relay(
        Objects.requireNonNull(broker, "broker"),
        Objects.requireNonNull(config, "config"),
        Objects.requireNonNull(sink, "sink"));
  }

  /**
   * Counters since start, and the lag: the age of the oldest message waiting in the relayed queues
   * (one stats query per queue).
   */
  public RelayStats stats() {
    Duration lag = Duration.ZERO;
    for (String queue : config.queues) {
      Duration age = broker.stats(queue).oldestReadyAge();
      if (age.compareTo(lag) > 0) {
        lag = age;
      }
    }
    return new RelayStats(
        forwarder.published.sum(),
        forwarder.confirmed.sum(),
        forwarder.retried.sum(),
        forwarder.deadLettered.sum(),
        forwarder.inFlight.get(),
        lag);
  }

  /**
   * Stops fetching, waits up to {@code timeout} for publishes under way to be confirmed and
   * acknowledged, and closes the sink. Messages still waiting for an unavailable broker go back to
   * pgbroker, to be relayed by the next relay. Returns true if everything under way finished in
   * time; calling it again does nothing.
   */
  public boolean stop(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (!stopped.compareAndSet(false, true)) {
      return true;
    }
    forwarder.stop();
    try {
      return worker.close(timeout);
    } finally {
      forwarder.close();
      sink.close();
    }
  }

  /** Stops within the configured drain timeout. */
  @Override
  public void close() {
    stop(config.drainTimeout);
  }
}
