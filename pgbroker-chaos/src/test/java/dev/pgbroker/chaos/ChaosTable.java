package dev.pgbroker.chaos;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The suite's table: one row per scenario, printed whole after each and written to {@code
 * target/chaos/table.md}, from where docs/reliability.md takes it.
 */
final class ChaosTable {
  private static final List<String> ROWS = new ArrayList<>();
  private static final String HEADER =
      "| scenario | messages | kills and restarts | lost | duplicated | dead-lettered | wall time |"
          + " notes |\n|---|---:|---|---:|---:|---:|---:|---|\n";

  private ChaosTable() {}

  static synchronized void add(
      String scenario, Tally t, String faults, double seconds, String notes) {
    add(
        scenario,
        Integer.toString(t.committed()),
        faults,
        t.lost(),
        t.duplicated(),
        t.deadLettered(),
        seconds,
        notes);
  }

  static synchronized void add(
      String scenario,
      String messages,
      String faults,
      int lost,
      int duplicated,
      int deadLettered,
      double seconds,
      String notes) {
    ROWS.add(
        String.format(
            "| %s | %s | %s | %d | %d | %d | %.0f s | %s |",
            scenario, messages, faults, lost, duplicated, deadLettered, seconds, notes));
    StringBuilder table = new StringBuilder(HEADER);
    ROWS.forEach(r -> table.append(r).append('\n'));
    System.out.println("\nchaos suite so far:\n" + table);
    try {
      Path out = Path.of("target", "chaos", "table.md");
      Files.createDirectories(out.getParent());
      Files.writeString(out, table);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
