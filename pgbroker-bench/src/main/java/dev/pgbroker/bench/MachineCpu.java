package dev.pgbroker.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The whole machine's CPU time from Linux's {@code /proc/stat}, for rows whose parts run in several
 * processes (the bench's JVM, PostgreSQL, a broker): how busy every core was while one ran, and the
 * CPU time it took per message. Steal time counts as idle: it is time the machine did not get.
 */
record MachineCpu(long busyTicks, long totalTicks) {
  private static final Path STAT = Path.of("/proc/stat");

  /** Ticks (1/100 s) of the kernel's USER_HZ. */
  private static final double TICK_MS = 10;

  /** Now, or empty where there is no {@code /proc/stat}. */
  static Optional<MachineCpu> now() {
    try {
      String[] f = Files.readAllLines(STAT).get(0).trim().split("\\s+");
      // cpu user nice system idle iowait irq softirq steal ...
      long busy = 0;
      long total = 0;
      for (int i = 1; i <= 8 && i < f.length; i++) {
        long v = Long.parseLong(f[i]);
        total += v;
        if (i != 4 && i != 5 && i != 8) {
          busy += v;
        }
      }
      return Optional.of(new MachineCpu(busy, total));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /**
   * Since {@code start}: the share of all cores that was busy, and the CPU milliseconds per
   * message, as a note ("CPU 96% busy, 0.061 ms a message"); null without {@code /proc/stat}.
   */
  static String since(Optional<MachineCpu> start, long messages) {
    Optional<MachineCpu> end = now();
    if (start.isEmpty() || end.isEmpty() || messages <= 0) {
      return null;
    }
    long busy = end.get().busyTicks - start.get().busyTicks;
    long total = end.get().totalTicks - start.get().totalTicks;
    if (total <= 0) {
      return null;
    }
    return String.format(
        "CPU %.0f%% busy, %.3f ms a message", 100.0 * busy / total, busy * TICK_MS / messages);
  }
}
