package dev.pgbroker.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLongArray;

/** Shared tools of the scenarios: parallel load, payloads, spaced sends, heap high-water marks. */
final class Load {
  /** One thread's share of a parallel load. */
  @FunctionalInterface
  interface Part {
    void run(int thread) throws Exception;
  }

  private Load() {}

  /**
   * What a throughput measurement did: {@code count} messages in {@code nanos}, with a note for the
   * table and figures of its own for the JSON (ratios may read them).
   */
  record Measured(long count, long nanos, String note, Map<String, Object> details) {
    Measured(long count, long nanos) {
      this(count, nanos, null, Map.of());
    }
  }

  /** The middle one of some runs of the same measurement, by time taken. */
  static Measured median(List<Measured> runs) {
    List<Measured> sorted = new ArrayList<>(runs);
    sorted.sort(Comparator.comparingLong(Measured::nanos));
    return sorted.get(sorted.size() / 2);
  }

  /** Something measured that may fail; a failure becomes a FAILED row and the run goes on. */
  @FunctionalInterface
  interface Measurement<T> {
    T run() throws Exception;
  }

  /** Runs a throughput measurement and records it under {@code key}. */
  static void rate(
      Results results, Progress progress, String key, String label, Measurement<Measured> m) {
    try {
      Measured x = m.run();
      progress.done(String.format("%,.0f msg/s", x.count() / (x.nanos() / 1e9)));
      results.rate(key, label, x.count(), x.nanos(), x.note(), x.details());
    } catch (Exception e) {
      progress.done("FAILED: " + e);
      results.failed(key, label, e);
    }
  }

  /**
   * Runs a latency measurement (nanos per sample) and records it under {@code key}, with a note
   * read after the measurement (a StringBuilder it fills, or a plain String).
   */
  static void latency(
      Results results,
      Progress progress,
      String key,
      String label,
      CharSequence note,
      Measurement<long[]> m) {
    try {
      long[] nanos = m.run();
      progress.done(results.latency(key, label, nanos, note.toString()).shown());
    } catch (Exception e) {
      progress.done("FAILED: " + e);
      results.failed(key, label, e);
    }
  }

  /** The payload object pgbroker sends; Jackson writes it as {@link #payload(long)} reads. */
  record Msg(long seq) {}

  /** The payload every scenario sends: small JSON whose number identifies the message. */
  static String payload(long seq) {
    return "{\"seq\":" + seq + "}";
  }

  /** Reads the number back out of a payload as PostgreSQL's jsonb prints it. */
  static int seqOf(String json) {
    int colon = json.indexOf(':');
    int end = json.indexOf('}', colon);
    return Integer.parseInt(json.substring(colon + 1, end).trim());
  }

  /** Runs {@code part} on {@code n} threads at once; returns the nanos until the last ends. */
  static long parallel(int n, Part part) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      List<Future<?>> futures = new ArrayList<>();
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        int thread = i;
        futures.add(
            pool.submit(
                () -> {
                  part.run(thread);
                  return null;
                }));
      }
      for (Future<?> f : futures) {
        try {
          f.get();
        } catch (ExecutionException e) {
          throw e.getCause() instanceof Exception cause ? cause : e;
        }
      }
      return System.nanoTime() - t0;
    } finally {
      pool.shutdownNow();
    }
  }

  /** Thread {@code thread}'s share of {@code total} items split over {@code n} threads. */
  static int share(int total, int n, int thread) {
    return total / n + (thread < total % n ? 1 : 0);
  }

  /** An enqueue of one item, spaced by {@link #spaced}. */
  @FunctionalInterface
  interface Send {
    void send(int seq) throws Exception;
  }

  /**
   * Sends {@code count} items {@code spacingMs} apart, each stamped with System.nanoTime() the
   * moment its send returned (that is, after its commit). Returns the stamps by seq.
   */
  static long[] spaced(int count, int spacingMs, Send send) throws Exception {
    long[] sent = new long[count];
    long next = System.nanoTime();
    for (int i = 0; i < count; i++) {
      send.send(i);
      sent[i] = System.nanoTime();
      next += spacingMs * 1_000_000L;
      long wait = next - System.nanoTime();
      if (wait > 0) {
        Thread.sleep(wait / 1_000_000L, (int) (wait % 1_000_000L));
      }
    }
    return sent;
  }

  /** Handler start minus send return, per sample; samples never handled fail the figure. */
  static long[] latencies(long[] sent, AtomicLongArray startedAt) {
    long[] out = new long[sent.length];
    for (int i = 0; i < sent.length; i++) {
      long started = startedAt.get(i);
      if (started == 0) {
        throw new IllegalStateException("sample " + i + " was never handled");
      }
      out[i] = started - sent[i];
    }
    return out;
  }

  /** Resets the heap pools' peak usage after a GC, so the next peak is the next phase's own. */
  static void resetHeapPeaks() {
    System.gc();
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        pool.resetPeakUsage();
      }
    }
  }

  /**
   * Heap use since the last reset: [peak summed over heap pools, old-generation peak, live heap
   * after a full GC now].
   */
  static long[] heapPeaks() {
    long all = 0;
    long old = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        long used = pool.getPeakUsage().getUsed();
        all += used;
        if (pool.getName().contains("Old") || pool.getName().contains("Tenured")) {
          old += used;
        }
      }
    }
    System.gc();
    long live = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    return new long[] {all, old, live};
  }
}
