package dev.pgbroker.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * Every figure of one run, in the order measured, and the ratios the issue sets targets for. Each
 * figure has a stable key (the JSON and the smoke test use it), a label for the table, the text
 * shown, and its numbers.
 */
final class Results {
  /** One measured figure; {@code value} is the number ratios use (msg/s, ms or MB). */
  record Figure(String key, String label, String shown, Double value, Map<String, Object> data) {}

  /** A ratio of two figures, with the target it is held to; {@code met} is null with no target. */
  record Ratio(String key, String label, Double value, String target, Boolean met) {}

  private final Map<String, Figure> figures = new LinkedHashMap<>();
  private final List<String> errors = new ArrayList<>();

  /** A throughput: {@code count} messages in {@code nanos}, with figures of its own. */
  void rate(
      String key, String label, long count, long nanos, String note, Map<String, Object> details) {
    double seconds = nanos / 1e9;
    double perSecond = count / seconds;
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("messages", count);
    data.put("seconds", round(seconds, 3));
    data.put("msgPerSecond", Math.round(perSecond));
    if (note != null) {
      data.put("note", note);
    }
    data.putAll(details);
    String shown =
        String.format(
            "%,.0f msg/s (%,d in %.2f s%s)",
            perSecond, count, seconds, note == null ? "" : "; " + note);
    figures.put(key, new Figure(key, label, shown, perSecond, data));
  }

  /** Latencies in nanoseconds; the figure's value is p50 in ms, and p99 is kept for ratios. */
  Figure latency(String key, String label, long[] nanos, String note) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    double p50 = percentileMs(sorted, 0.50);
    double p95 = percentileMs(sorted, 0.95);
    double p99 = percentileMs(sorted, 0.99);
    double p999 = percentileMs(sorted, 0.999);
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("samples", sorted.length);
    data.put("p50Ms", round(p50, 3));
    data.put("p95Ms", round(p95, 3));
    data.put("p99Ms", round(p99, 3));
    data.put("p999Ms", round(p999, 3));
    data.put("maxMs", round(sorted[sorted.length - 1] / 1e6, 3));
    if (note != null) {
      data.put("note", note);
    }
    String shown =
        String.format(
            "p50 %s / p95 %s / p99 %s / p99.9 %s ms (n=%d%s)",
            ms(p50), ms(p95), ms(p99), ms(p999), sorted.length, note == null ? "" : "; " + note);
    Figure f = new Figure(key, label, shown, p50, data);
    figures.put(key, f);
    return f;
  }

  /**
   * Heap figures in bytes: the peak of all heap pools (young-generation sizing moves it with the
   * allocation rate), the old generation's peak (what a leak or a backlog held in memory would
   * grow), and the live heap after a full GC at the end. The value is the old-generation peak.
   */
  void heap(String key, String label, long heapPeak, long oldGenPeak, long liveAfterGc) {
    double mb = heapPeak / 1048576.0;
    double oldMb = oldGenPeak / 1048576.0;
    double liveMb = liveAfterGc / 1048576.0;
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("heapPeakMb", round(mb, 1));
    data.put("oldGenPeakMb", round(oldMb, 1));
    data.put("liveAfterGcMb", round(liveMb, 1));
    String shown =
        String.format(
            "old gen peak %.0f MB, all heap pools %.0f MB, live after GC" + " %.0f MB",
            oldMb, mb, liveMb);
    figures.put(key, new Figure(key, label, shown, oldMb, data));
  }

  /** A scenario that failed: the run goes on, the table says what broke. */
  void failed(String key, String label, Exception e) {
    String why = e.getClass().getSimpleName() + ": " + e.getMessage();
    errors.add(label + ": " + why);
    figures.put(key, new Figure(key, label, "FAILED: " + why, null, Map.of("error", why)));
  }

  List<Figure> figures() {
    return List.copyOf(figures.values());
  }

  List<String> errors() {
    return List.copyOf(errors);
  }

  OptionalDouble value(String key) {
    Figure f = figures.get(key);
    return f == null || f.value() == null ? OptionalDouble.empty() : OptionalDouble.of(f.value());
  }

  OptionalDouble data(String key, String field) {
    Figure f = figures.get(key);
    return f == null || !(f.data().get(field) instanceof Number n)
        ? OptionalDouble.empty()
        : OptionalDouble.of(n.doubleValue());
  }

  /** The ratios of the targets, from whatever figures this run has. */
  List<Ratio> ratios() {
    List<Ratio> out = new ArrayList<>();
    ratio(
        out,
        "worker_vs_raw",
        "pgbroker worker / raw-SQL dequeue",
        "pgbroker.worker",
        "raw.dequeue",
        0.70);
    ratio(
        out,
        "send_vs_raw",
        "pgbroker batch send / raw-SQL insert",
        "pgbroker.batch_send",
        "raw.insert",
        0.60);
    ratio(
        out,
        "single_send_vs_raw",
        "pgbroker transactional send / raw-SQL one-row transaction",
        "pgbroker.single_send",
        "raw.single_insert",
        0.85);
    ratio(
        out,
        "worker_vs_dbscheduler",
        "pgbroker worker / db-scheduler processing",
        "pgbroker.worker",
        "dbscheduler.process",
        5.0);
    ratio(
        out,
        "worker_vs_jobrunr",
        "pgbroker worker / JobRunr processing",
        "pgbroker.worker",
        "jobrunr.process",
        15.0);
    ratio(
        out,
        "send_vs_dbscheduler",
        "pgbroker batch send / db-scheduler enqueue",
        "pgbroker.batch_send",
        "dbscheduler.enqueue",
        null);
    ratio(
        out,
        "send_vs_jobrunr",
        "pgbroker batch send / JobRunr enqueue",
        "pgbroker.batch_send",
        "jobrunr.enqueue",
        null);
    ratio(
        out,
        "backlog_vs_small",
        "pgbroker worker, large backlog / small backlog",
        "pgbroker.backlog_worker",
        "pgbroker.worker",
        0.80);
    OptionalDouble small = value("pgbroker.heap_small");
    OptionalDouble big = value("pgbroker.heap_backlog");
    if (small.isPresent() && big.isPresent()) {
      double r = big.getAsDouble() / small.getAsDouble();
      // "Flat": within 25%, plus slack for GC timing, which moves peaks by a few MB.
      boolean flat = big.getAsDouble() <= small.getAsDouble() * 1.25 + 16;
      out.add(
          new Ratio(
              "heap_backlog_vs_small",
              "pgbroker worker old-gen heap peak, large / small" + " backlog",
              r,
              "flat (<= 1.25x + 16 MB)",
              flat));
    }
    OptionalDouble p50 = data("pgbroker.latency_notify", "p50Ms");
    OptionalDouble p99 = data("pgbroker.latency_notify", "p99Ms");
    if (p50.isPresent()) {
      out.add(
          new Ratio(
              "latency_p50",
              "pgbroker idle latency p50, LISTEN/NOTIFY (ms)",
              p50.getAsDouble(),
              "<= 3 ms",
              p50.getAsDouble() <= 3));
    }
    if (p99.isPresent()) {
      out.add(
          new Ratio(
              "latency_p99",
              "pgbroker idle latency p99, LISTEN/NOTIFY (ms)",
              p99.getAsDouble(),
              "<= 10 ms",
              p99.getAsDouble() <= 10));
    }
    data("pgbroker.latency_notify", "p999Ms")
        .ifPresent(
            p999 ->
                out.add(
                    new Ratio(
                        "latency_p999",
                        "pgbroker idle latency p99.9, LISTEN/NOTIFY (ms)",
                        p999,
                        null,
                        null)));
    ordered(out, "ordered_few_vs_none", "pgbroker.ordered_few", 0.20);
    ordered(out, "ordered_some_vs_none", "pgbroker.ordered_some", null);
    ordered(out, "ordered_many_vs_none", "pgbroker.ordered_many", 0.80);
    for (String subs : List.of("1", "3", "10")) {
      ratio(
          out,
          "publish_" + subs + "_vs_send",
          "pgbroker publish to " + subs + " subscription(s) / sendBatch to one queue (messages/s)",
          "pgbroker.publish_" + subs,
          "pgbroker.publish_none",
          null);
    }
    OptionalDouble plain = value("pgbroker.read_plain");
    OptionalDouble held = value("pgbroker.read_held_key");
    OptionalDouble backlog = data("pgbroker.read_held_key", "heldBacklog");
    if (plain.isPresent() && held.isPresent() && backlog.isPresent()) {
      double r = plain.getAsDouble() / held.getAsDouble();
      out.add(
          new Ratio(
              "held_key_slowdown",
              String.format(
                  "pgbroker reads, none / %,.0f messages behind a held key (slowdown)",
                  backlog.getAsDouble()),
              r,
              "< 2x",
              r < 2));
    }
    return out;
  }

  /** An ordering-key drain against the unkeyed drain of the same messages in the same run. */
  private void ordered(List<Ratio> out, String key, String figure, Double atLeast) {
    OptionalDouble keys = data(figure, "orderingKeys");
    if (keys.isPresent()) {
      String label =
          String.format("pgbroker worker, %,.0f ordering keys / no key", keys.getAsDouble());
      ratio(out, key, label, figure, "pgbroker.ordered_none", atLeast);
    }
  }

  private void ratio(
      List<Ratio> out, String key, String label, String top, String bottom, Double atLeast) {
    OptionalDouble a = value(top);
    OptionalDouble b = value(bottom);
    if (a.isEmpty() || b.isEmpty() || b.getAsDouble() == 0) {
      return;
    }
    double r = a.getAsDouble() / b.getAsDouble();
    String target = atLeast == null ? null : ">= " + (atLeast < 1.5 ? pct(atLeast) : atLeast + "x");
    out.add(new Ratio(key, label, r, target, atLeast == null ? null : r >= atLeast));
  }

  private static double percentileMs(long[] sorted, double q) {
    int i = (int) Math.ceil(q * sorted.length) - 1;
    return Math.max(0, sorted[Math.max(0, Math.min(i, sorted.length - 1))]) / 1e6;
  }

  static String ms(double ms) {
    return ms >= 100
        ? String.format("%.0f", ms)
        : ms >= 10 ? String.format("%.1f", ms) : String.format("%.2f", ms);
  }

  static String pct(double r) {
    return String.format("%.0f%%", r * 100);
  }

  private static double round(double v, int places) {
    double f = Math.pow(10, places);
    return Math.round(v * f) / f;
  }
}
