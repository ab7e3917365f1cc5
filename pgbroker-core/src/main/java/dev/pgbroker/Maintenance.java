package dev.pgbroker;

import java.sql.PreparedStatement;
import java.time.Duration;
import javax.sql.DataSource;

/**
 * Prunes expired dedup keys and folds counter rows, so stats stay one cheap read, then deletes what
 * the archive and dead-letter retention no longer keep, in small batches. The SQL function also
 * takes a lock of its own, so a manual run beside the leader's is harmless.
 */
final class Maintenance {
  /** Rows one pruning transaction deletes at most. */
  static final int PRUNE_BATCH = 1000;

  /** How long one run keeps pruning before it leaves the rest to the next run. */
  static final Duration PRUNE_BUDGET = Duration.ofSeconds(10);

  private Maintenance() {}

  static Service service(DataSource dataSource, String schema, Duration interval) {
    return new Service("maintenance", interval, () -> run(dataSource, schema));
  }

  /** Runs every upkeep service once, here and now (for applications that run no worker). */
  static void runAll(DataSource dataSource, String schema) {
    run(dataSource, schema);
    HotTableVacuum.run(dataSource, schema);
  }

  static void run(DataSource dataSource, String schema) {
    Sql.run(
        dataSource,
        "maintenance",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("select " + schema + ".maintain(prune_retention => false)")) {
            ps.execute();
          }
          return null;
        });
    prune(dataSource, schema);
  }

  /**
   * Deletes what retention no longer keeps, {@link #PRUNE_BATCH} rows per transaction, so a large
   * backlog never becomes one long transaction holding back vacuum; what is left after {@link
   * #PRUNE_BUDGET} waits for the next run.
   */
  static long prune(DataSource dataSource, String schema) {
    long deadline = System.nanoTime() + PRUNE_BUDGET.toNanos();
    long total = 0;
    int n;
    do {
      n =
          Sql.run(
              dataSource,
              "prune by retention",
              c -> {
                try (PreparedStatement ps = c.prepareStatement("select " + schema + ".prune(?)")) {
                  ps.setInt(1, PRUNE_BATCH); // most rows deleted by this transaction
                  return Sql.single(ps, rs -> rs.getInt(1));
                }
              });
      total += n;
    } while (n == PRUNE_BATCH && System.nanoTime() - deadline < 0);
    return total;
  }
}
