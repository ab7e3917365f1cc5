package dev.pgbroker.relay;

import dev.pgbroker.Delivery;
import java.util.concurrent.CompletableFuture;

/**
 * Where the relay publishes: an external broker. Implementations must be safe to call from many
 * threads at once, since the relay publishes several messages concurrently (one per ordering key,
 * and every message without a key on its own).
 */
public interface Sink extends AutoCloseable {
  /**
   * Starts publishing one message and returns at once. The future completes when the broker has
   * taken responsibility for the message (a publisher confirm, an {@code acks=all} response), or
   * fails with a {@link SinkException} saying whether the refusal is permanent. Any other failure
   * counts as transient: the relay publishes the message again after a backoff.
   */
  CompletableFuture<Void> publish(Delivery message);

  /** Releases the connection to the broker; publishing after close fails. */
  @Override
  void close();
}
