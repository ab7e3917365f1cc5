package dev.pgbroker.bench;

import java.io.PrintStream;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The one progress line a run shows while it works. On a terminal it rewrites itself in place; into
 * a file or a CI log it prints a line every few seconds instead, so logs stay readable.
 */
final class Progress {
  private final PrintStream out;
  private final boolean terminal = System.console() != null;
  private final long everyNanos;
  private String phase = "";
  private long lastPrint;
  private int width;

  Progress(PrintStream out) {
    this.out = out;
    this.everyNanos = terminal ? 200_000_000L : 5_000_000_000L;
  }

  /** Starts a named phase and shows it at once. */
  synchronized void phase(String name) {
    phase = name;
    print(name, true);
  }

  /** Shows how the current phase is going, at most a few times a second. */
  synchronized void update(String detail) {
    print(phase + ": " + detail, false);
  }

  /** Ends the current phase with its result on a line of its own. */
  synchronized void done(String result) {
    print(phase + ": " + result, true);
    if (terminal) {
      out.println();
      width = 0;
    }
  }

  /**
   * Waits until {@code done} holds, showing {@code status} meanwhile; checks every 5 ms so the wait
   * adds little to the time measured. Throws if it takes longer than {@code timeout}.
   */
  void await(BooleanSupplier done, Supplier<String> status, Duration timeout) {
    long end = System.nanoTime() + timeout.toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new IllegalStateException(
            phase + ": gave up after " + timeout + " at " + status.get());
      }
      update(status.get());
      sleep(5);
    }
  }

  private void print(String line, boolean force) {
    long now = System.nanoTime();
    if (!force && now - lastPrint < everyNanos) {
      return;
    }
    lastPrint = now;
    if (terminal) {
      String padded = line.length() < width ? line + " ".repeat(width - line.length()) : line;
      width = line.length();
      out.print("\r" + padded);
    } else {
      out.println(line);
    }
    out.flush();
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
