package dev.pgbroker;

import java.time.Duration;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one shape of every background part: a named daemon thread that runs a step again and again
 * until stopped. A step that throws is retried after a doubling backoff capped at five seconds,
 * with a warning; a step that succeeds resets the backoff. Waiting between steps is the step's own
 * business, so a step should return (or wake) within a moment of {@link #stop}.
 */
final class Loop {
  private static final Logger log = LoggerFactory.getLogger(Loop.class);
  static final long MIN_BACKOFF_MS = 100;
  static final long MAX_BACKOFF_MS = 5_000;

  @FunctionalInterface
  interface Step {
    void run() throws Exception;
  }

  private final String name;
  private final Step step;
  private final Consumer<Exception> onFailure;
  private final Object sleep = new Object();
  private volatile boolean stopping;

  /** A wake-up not yet consumed by {@link #await}. */
  private volatile boolean woken;

  private Thread thread;

  /** {@code onFailure} hears of each failed step before the backoff. */
  Loop(String name, Step step, Consumer<Exception> onFailure) {
    this.name = name;
    this.step = step;
    this.onFailure = onFailure;
  }

  synchronized Loop start() {
    if (thread == null) {
      thread = new Thread(this::run, name);
      thread.setDaemon(true);
      thread.start();
    }
    return this;
  }

  /**
   * Waits up to {@code ms}, returning early on {@link #wake} or {@link #stop}. A wake that came
   * while the step was busy is not lost: the next await returns at once. For the loop's thread.
   */
  void await(long ms) {
    pause(ms);
    woken = false;
  }

  /** Ends the current or next {@link #await} early. Cheap when a wake is already pending. */
  void wake() {
    if (woken) {
      return;
    }
    synchronized (sleep) {
      woken = true;
      sleep.notifyAll();
    }
  }

  /** True once {@link #stop} was called. */
  boolean stopping() {
    return stopping;
  }

  /**
   * Asks the loop to end after its current step and waits up to {@code timeout} for that. Returns
   * true if the thread ended in time. Calling it again, or before start, is harmless.
   */
  boolean stop(Duration timeout) {
    stopping = true;
    synchronized (sleep) {
      sleep.notifyAll();
    }
    Thread t;
    synchronized (this) {
      t = thread;
    }
    if (t == null || t == Thread.currentThread()) {
      return true;
    }
    try {
      t.join(Math.max(1, timeout.toMillis()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return !t.isAlive();
  }

  private void run() {
    long backoffMs = 0;
    while (!stopping) {
      try {
        step.run();
        backoffMs = 0;
      } catch (InterruptedException e) {
        return;
      } catch (Exception e) {
        if (stopping) {
          return;
        }
        onFailure.accept(e);
        backoffMs = Math.min(Math.max(backoffMs * 2, MIN_BACKOFF_MS), MAX_BACKOFF_MS);
        log.warn("pgbroker: {} failed, retrying in {} ms: {}", name, backoffMs, e.getMessage());
        pause(backoffMs);
        woken = false;
      }
    }
  }

  /** Waits on the monotonic clock: a wall clock stepped back must not stretch the pause. */
  private void pause(long ms) {
    long end = System.nanoTime() + ms * 1_000_000;
    synchronized (sleep) {
      for (long left = ms;
          left > 0 && !stopping && !woken;
          left = (end - System.nanoTime() + 999_999) / 1_000_000) {
        try {
          sleep.wait(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }
}
