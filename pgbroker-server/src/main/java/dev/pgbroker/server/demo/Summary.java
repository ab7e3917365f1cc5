package dev.pgbroker.server.demo;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What the demo counted, and what it found wrong. Every number is measured, none assumed: the
 * demo's exit code is non-zero when any check fails.
 */
record Summary(
    int sent,
    long processedOnce,
    long duplicates,
    long lost,
    long deadLettered,
    int replayed,
    Duration loadTime,
    Duration totalTime,
    List<String> problems) {

  /** Adds the problems the counts themselves show to those the stages found. */
  static Summary of(
      int sent,
      long processedOnce,
      long duplicates,
      long lost,
      long deadLettered,
      int replayed,
      Duration loadTime,
      Duration totalTime,
      List<String> stageProblems) {
    List<String> problems = new ArrayList<>(stageProblems);
    if (duplicates > 0) {
      problems.add(duplicates + " duplicate(s): a payment was processed more than once");
    }
    if (lost > 0) {
      problems.add(lost + " payment(s) lost: sent but never processed");
    }
    if (processedOnce != sent) {
      problems.add("processed once " + processedOnce + " of " + sent + " sent");
    }
    if (deadLettered != 1) {
      problems.add("expected 1 dead-lettered payment, counted " + deadLettered);
    }
    if (replayed != 1) {
      problems.add("expected 1 replayed payment, counted " + replayed);
    }
    return new Summary(
        sent,
        processedOnce,
        duplicates,
        lost,
        deadLettered,
        replayed,
        loadTime,
        totalTime,
        List.copyOf(problems));
  }

  boolean ok() {
    return problems.isEmpty();
  }

  void print(PrintWriter out) {
    double loadSeconds = loadTime.toNanos() / 1e9;
    out.println();
    out.println("Summary");
    out.printf("  sent:            %d%n", sent);
    out.printf("  processed once:  %d%n", processedOnce);
    out.printf("  duplicates:      %d%n", duplicates);
    out.printf("  lost:            %d%n", lost);
    out.printf("  dead-lettered:   %d%n", deadLettered);
    out.printf("  replayed:        %d%n", replayed);
    out.printf(
        "  throughput:      %,.0f msg/s (%d payments in %.2f s)%n",
        sent / Math.max(loadSeconds, 1e-9), sent, loadSeconds);
    out.printf("  total time:      %.1f s%n", totalTime.toMillis() / 1e3);
    if (ok()) {
      out.println("result: OK");
    } else {
      out.println("result: FAILED");
      problems.forEach(p -> out.println("  - " + p));
    }
    out.flush();
  }
}
