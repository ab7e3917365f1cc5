package dev.pgbroker.relay;

import dev.pgbroker.Delivery;
import dev.pgbroker.PoisonMessageException;
import dev.pgbroker.RetryLaterException;
import dev.pgbroker.Worker;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The relay's handler: publishes one delivery and completes its stage only once the broker
 * confirmed it, so the worker acknowledges it in pgbroker only then. It is asynchronous so that a
 * window of hundreds of unconfirmed publishes costs no blocked thread each. The worker hands one
 * ordering key's messages to one handler slot in id order and starts a key's next message only
 * after this one's stage completed; unkeyed messages and other keys run in the other slots, up to
 * the window.
 *
 * <p>A transient fault is retried here, after a backoff on a timer, with the lease kept alive by
 * the worker's heartbeat, rather than handed back to pgbroker: a nack would use up one of the
 * message's attempts per broker outage and could dead-letter messages that did nothing wrong.
 */
final class Forwarder implements Worker.AsyncHandler {
  private static final long MIN_BACKOFF_MS = 100;

  /** A late confirm fails within a tenth of the confirm timeout after it. */
  private static final long SWEEPS_PER_TIMEOUT = 10;

  /** A message waiting out a backoff; whoever removes it from {@link #waiting} acts on it. */
  private record Waiting(Delivery delivery, CompletableFuture<Void> done, String fault) {}

  private final Sink sink;
  private final long confirmTimeoutMs;
  private final long maxBackoffMs;
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "pgbroker-relay-timer");
            t.setDaemon(true);
            return t;
          });
  private final Set<Waiting> waiting = ConcurrentHashMap.newKeySet();

  /**
   * Publishes awaiting their confirm, with the time ({@link System#nanoTime()}) they time out at.
   * One sweep on the timer fails the late ones: a timeout of its own for each publish woke the
   * JDK's delay thread once a message (16-30 us of CPU a message, with one key to RabbitMQ).
   */
  private final Map<CompletableFuture<Void>, Long> unconfirmed = new ConcurrentHashMap<>();

  private volatile boolean stopping;
  final LongAdder published = new LongAdder();
  final LongAdder confirmed = new LongAdder();
  final LongAdder retried = new LongAdder();
  final LongAdder deadLettered = new LongAdder();
  final AtomicInteger inFlight = new AtomicInteger();

  Forwarder(Sink sink, Duration confirmTimeout, Duration maxBackoff) {
    this.sink = sink;
    this.confirmTimeoutMs = confirmTimeout.toMillis();
    this.maxBackoffMs = maxBackoff.toMillis();
    long sweepMs = Math.max(1, confirmTimeoutMs / SWEEPS_PER_TIMEOUT);
    timer.scheduleWithFixedDelay(this::failLateConfirms, sweepMs, sweepMs, TimeUnit.MILLISECONDS);
  }

  /** Ends backoff waits: messages still waiting for the broker go back to pgbroker. */
  void stop() {
    stopping = true;
    for (Waiting w : waiting) {
      giveBack(w);
    }
  }

  /** After the worker drained: no backoff is waiting any more. */
  void close() {
    timer.shutdownNow();
  }

  @Override
  public CompletionStage<Void> handle(Delivery delivery) {
    inFlight.incrementAndGet();
    CompletableFuture<Void> done = new CompletableFuture<>();
    done.whenComplete((x, e) -> inFlight.decrementAndGet());
    publish(delivery, done, 0);
    return done;
  }

  private void publish(Delivery d, CompletableFuture<Void> done, long backoffMs) {
    published.increment();
    CompletableFuture<Void> confirm;
    try {
      // A copy, so the timeout fails this attempt and leaves the sink's own future alone.
      confirm = sink.publish(d).copy();
    } catch (RuntimeException e) { // a sink that refuses at once instead of through the future
      confirm = CompletableFuture.failedFuture(e);
    }
    CompletableFuture<Void> attempt = confirm;
    unconfirmed.put(attempt, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(confirmTimeoutMs));
    attempt.whenComplete(
        (x, e) -> {
          unconfirmed.remove(attempt);
          confirmed(d, done, backoffMs, e);
        });
  }

  private void failLateConfirms() {
    long now = System.nanoTime();
    unconfirmed.forEach(
        (attempt, deadline) -> {
          if (now - deadline >= 0) {
            attempt.completeExceptionally(new TimeoutException());
          }
        });
  }

  private void confirmed(Delivery d, CompletableFuture<Void> done, long backoffMs, Throwable e) {
    if (e == null) {
      confirmed.increment();
      done.complete(null);
      return;
    }
    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    if (cause instanceof SinkException s && s.permanent()) {
      deadLettered.increment();
      done.completeExceptionally(
          new PoisonMessageException("refused by the broker: " + s.getMessage(), s));
      return;
    }
    String fault =
        cause instanceof TimeoutException
            ? "no confirm within " + confirmTimeoutMs + " ms"
            : String.valueOf(cause.getMessage());
    retried.increment();
    long next = Math.min(Math.max(backoffMs * 2, MIN_BACKOFF_MS), maxBackoffMs);
    Waiting w = new Waiting(d, done, fault);
    waiting.add(w);
    if (stopping) {
      giveBack(w); // stop() may have passed over it
      return;
    }
    try {
      timer.schedule(
          () -> {
            if (waiting.remove(w)) {
              publish(d, done, next);
            }
          },
          next,
          TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException closed) {
      giveBack(w);
    }
  }

  /** The relay is stopping while the broker is unavailable: pgbroker keeps the message. */
  private void giveBack(Waiting w) {
    if (waiting.remove(w)) {
      w.done.completeExceptionally(
          new RetryLaterException(Duration.ofSeconds(1), "relay stopped: " + w.fault));
    }
  }
}
