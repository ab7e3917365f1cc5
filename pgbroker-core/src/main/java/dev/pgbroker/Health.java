package dev.pgbroker;

import java.time.Duration;
import java.util.List;

/**
 * What {@link Broker#health()} found: a warning for each queue whose oldest ready message has
 * waited too long, each table of the schema with too many dead rows, and each session (or prepared
 * transaction) holding back the xmin horizon. No warnings means healthy.
 *
 * @param warnings most urgent kind first: queues, tables, then sessions from the oldest
 */
public record Health(List<Warning> warnings) {
  public Health {
    warnings = List.copyOf(warnings);
  }

  /** True when nothing crossed its threshold. */
  public boolean ok() {
    return warnings.isEmpty();
  }

  /**
   * One threshold crossed.
   *
   * @param check {@code oldest_ready} (value in ms), {@code dead_tuples} (rows) or {@code
   *     xmin_horizon} (ms the transaction has been open)
   * @param subject the queue, the table ({@code schema.table}), or {@code pid N} / {@code prepared
   *     GID} for the session or prepared transaction
   * @param value what was measured
   * @param threshold the limit it crossed
   * @param message a sentence for an operator, naming the subject and what to look at
   */
  public record Warning(String check, String subject, long value, long threshold, String message) {}

  /**
   * The limits above which {@link Broker#health(Thresholds)} warns. The SQL function {@code
   * health(options)} takes the same as {@code oldest_ready_ms}, {@code dead_tuples} and {@code
   * xmin_age_ms}.
   *
   * @param oldestReady how long a queue's oldest deliverable message may wait (default 5 min)
   * @param deadTuples how many dead rows a table of the schema may hold (default 100,000)
   * @param xminAge how long a transaction may stay open in this database (default 1 min)
   */
  public record Thresholds(Duration oldestReady, long deadTuples, Duration xminAge) {
    public static final Thresholds DEFAULT =
        new Thresholds(Duration.ofMinutes(5), 100_000, Duration.ofMinutes(1));

    public Thresholds {
      QueueOptions.nonNegativeMillis("oldestReady", oldestReady);
      QueueOptions.nonNegativeMillis("xminAge", xminAge);
      if (deadTuples < 0 || deadTuples > Checks.MAX_DURATION.toMillis()) {
        throw new IllegalArgumentException(
            "deadTuples must be from 0 to "
                + Checks.MAX_DURATION.toMillis()
                + ", was "
                + deadTuples);
      }
    }

    public Thresholds withOldestReady(Duration oldestReady) {
      return new Thresholds(oldestReady, deadTuples, xminAge);
    }

    public Thresholds withDeadTuples(long deadTuples) {
      return new Thresholds(oldestReady, deadTuples, xminAge);
    }

    public Thresholds withXminAge(Duration xminAge) {
      return new Thresholds(oldestReady, deadTuples, xminAge);
    }
  }
}
