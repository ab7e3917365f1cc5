package dev.pgbroker.relay;

import dev.pgbroker.Delivery;
import dev.pgbroker.PoisonMessageException;
import dev.pgbroker.RetryLaterException;
import dev.pgbroker.Worker;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The relay's handler: publishes one delivery and returns only once the broker confirmed it, so the
 * worker acknowledges it in pgbroker only then. The worker hands one ordering key's messages to one
 * handler slot in id order, so a key's next message is published only after this one returned;
 * unkeyed messages and other keys run in the other slots, up to the window.
 *
 * <p>A transient fault is retried here, with the lease kept alive by the worker's heartbeat, rather
 * than handed back to pgbroker: a nack would use up one of the message's attempts per broker outage
 * and could dead-letter messages that did nothing wrong.
 */
final class Forwarder implements Worker.Handler {
  private static final long MIN_BACKOFF_MS = 100;

  private final Sink sink;
  private final long confirmTimeoutMs;
  private final long maxBackoffMs;
  private final CountDownLatch stopping = new CountDownLatch(1);
  final LongAdder published = new LongAdder();
  final LongAdder confirmed = new LongAdder();
  final LongAdder retried = new LongAdder();
  final LongAdder deadLettered = new LongAdder();
  final AtomicInteger inFlight = new AtomicInteger();

  Forwarder(Sink sink, Duration confirmTimeout, Duration maxBackoff) {
    this.sink = sink;
    this.confirmTimeoutMs = confirmTimeout.toMillis();
    this.maxBackoffMs = maxBackoff.toMillis();
  }

  /** Ends backoff waits: messages still waiting for the broker go back to pgbroker. */
  void stop() {
    stopping.countDown();
  }

  @Override
  public void handle(Delivery delivery) throws Exception {
    inFlight.incrementAndGet();
    try {
      forward(delivery);
    } finally {
      inFlight.decrementAndGet();
    }
  }

  private void forward(Delivery delivery) throws InterruptedException {
    long backoffMs = 0;
    while (true) {
      String fault;
      published.increment();
      try {
        sink.publish(delivery).get(confirmTimeoutMs, TimeUnit.MILLISECONDS);
        confirmed.increment();
        return;
      } catch (ExecutionException e) {
        Throwable cause = e.getCause();
        if (cause instanceof SinkException s && s.permanent()) {
          deadLettered.increment();
          throw new PoisonMessageException("refused by the broker: " + s.getMessage(), s);
        }
        fault = String.valueOf(cause.getMessage());
      } catch (TimeoutException e) {
        fault = "no confirm within " + confirmTimeoutMs + " ms";
      } catch (SinkException e) {
        // a sink that refuses at once instead of through the future
        if (e.permanent()) {
          deadLettered.increment();
          throw new PoisonMessageException("refused by the broker: " + e.getMessage(), e);
        }
        fault = e.getMessage();
      }
      retried.increment();
      backoffMs = Math.min(Math.max(backoffMs * 2, MIN_BACKOFF_MS), maxBackoffMs);
      if (stopping.await(backoffMs, TimeUnit.MILLISECONDS)) {
        // The relay is stopping while the broker is unavailable: pgbroker keeps the message.
        throw new RetryLaterException(Duration.ofSeconds(1), "relay stopped: " + fault);
      }
    }
  }
}
