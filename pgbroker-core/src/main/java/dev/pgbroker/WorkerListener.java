package dev.pgbroker;

import java.time.Duration;

/**
 * Hears what a {@link Worker} does with each delivery, with timings, for metrics and logs. Called
 * on worker threads, so implementations must be thread-safe and quick; every method defaults to
 * doing nothing.
 */
public interface WorkerListener {
  /** A delivery is about to be handed to its handler. */
  default void delivered(Delivery delivery) {}

  /** The handler returned normally after {@code took}; its ack follows (batched). */
  default void succeeded(Delivery delivery, Duration took) {}

  /** The handler failed; the message is retried later if {@code willRetry}, else dead-lettered. */
  default void failed(Delivery delivery, Throwable error, Duration took, boolean willRetry) {}

  /** The message moved to the dead-letter store (attempts used up, or a poison signal). */
  default void deadLettered(Delivery delivery, String error) {}

  /** The lease ran out before the worker settled the delivery; another consumer may have it. */
  default void leaseLost(Delivery delivery) {}

  /** A database call of the worker failed; it backs off and tries again. */
  default void databaseError(String during, Exception error) {}
}
