package dev.pgbroker;

import java.util.concurrent.TimeUnit;

/**
 * How fast a queue's handlers have been finishing, as the number of messages worth buffering: about
 * {@link #PREFETCH_NANOS} of work at that rate, at least one and at most {@code max}. Enough that
 * fetches come in large batches when handlers are quick, and next to nothing when they are slow, so
 * that an instance does not sit on messages other instances could be running.
 */
final class HandlingRate {
  /** How much work, at the recent handling rate, the buffer holds ahead of the handlers. */
  static final long PREFETCH_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private static final long WINDOW_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
  private final int max;
  private long lastCount;
  private long lastNanos = System.nanoTime();
  private double perSecond;
  private volatile int prefetch = 1;

  HandlingRate(int max) {
    this.max = max;
  }

  /** Called by the fetcher only, with the count of messages finished so far. */
  int update(long finishedTotal) {
    long now = System.nanoTime();
    if (now - lastNanos >= WINDOW_NANOS) {
      double recent = (finishedTotal - lastCount) * 1e9 / (now - lastNanos);
      perSecond = (perSecond + recent) / 2; // smooths bursts; an idle queue decays to zero
      lastCount = finishedTotal;
      lastNanos = now;
      prefetch = (int) Math.max(1, Math.min(max, perSecond * PREFETCH_NANOS / 1e9));
    }
    return prefetch;
  }

  int prefetch() {
    return prefetch;
  }
}
