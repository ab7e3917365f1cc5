package dev.pgbroker.server.demo;

import java.io.PrintWriter;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/** Prints one line about the load every half second while it runs, and a last one at stop. */
final class Progress {
  static final long INTERVAL_MS = 500;

  private final PrintWriter out;
  private final IntSupplier sent;
  private final Consumers consumers;
  private final LongSupplier inFlight;
  private final long startNanos = System.nanoTime();
  private final ScheduledExecutorService timer;
  private long lastNanos = startNanos;
  private int lastProcessed;

  private Progress(PrintWriter out, IntSupplier sent, Consumers consumers, LongSupplier inFlight) {
    this.out = out;
    this.sent = sent;
    this.consumers = consumers;
    this.inFlight = inFlight;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "progress");
              t.setDaemon(true);
              return t;
            });
  }

  /** Starts printing; {@code inFlight} asks the broker, so it runs on the timer thread only. */
  static Progress start(
      PrintWriter out, IntSupplier sent, Consumers consumers, LongSupplier inFlight) {
    Progress p = new Progress(out, sent, consumers, inFlight);
    p.timer.scheduleAtFixedRate(p::printSafely, INTERVAL_MS, INTERVAL_MS, TimeUnit.MILLISECONDS);
    return p;
  }

  /** Stops the timer and prints a last line; later calls do nothing. */
  void stop() throws InterruptedException {
    if (timer.isShutdown()) {
      return;
    }
    timer.shutdown();
    timer.awaitTermination(5, TimeUnit.SECONDS);
    print();
  }

  private void printSafely() {
    try {
      print();
    } catch (RuntimeException e) {
      // A missed line is harmless; a thrown one would cancel every later tick.
      out.println("  (progress unavailable: " + e.getMessage() + ")");
    }
  }

  private synchronized void print() {
    long now = System.nanoTime();
    int processed = consumers.processed();
    double rate = (processed - lastProcessed) / Math.max(1e-9, (now - lastNanos) / 1e9);
    StringBuilder each = new StringBuilder();
    for (int i = 0; i < consumers.count(); i++) {
      each.append(i == 0 ? "" : " / ").append(consumers.processedBy(i));
    }
    out.printf(
        "  %5.1f s  sent %6d  processed %6d  in flight %4d  per consumer %s  %,7.0f msg/s%n",
        (now - startNanos) / 1e9, sent.getAsInt(), processed, inFlight.getAsLong(), each, rate);
    out.flush();
    lastNanos = now;
    lastProcessed = processed;
  }
}
