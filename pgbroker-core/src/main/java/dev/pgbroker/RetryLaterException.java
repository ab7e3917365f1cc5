package dev.pgbroker;

import java.time.Duration;
import java.util.Objects;

/** Thrown by a handler to retry its message after a delay of its choosing, not the backoff. */
public final class RetryLaterException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final Duration delay;

  public RetryLaterException(Duration delay, String reason) {
    super(reason);
    this.delay = Objects.requireNonNull(delay, "delay");
    QueueOptions.nonNegativeMillis("delay", delay);
  }

  public Duration delay() {
    return delay;
  }
}
