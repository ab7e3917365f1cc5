package dev.pgbroker;

import java.sql.PreparedStatement;
import java.time.Duration;
import javax.sql.DataSource;

/**
 * Prunes expired archive rows and dedup keys and folds counter rows, so stats stay one cheap read.
 * The SQL function also takes a lock of its own, so a manual run beside the leader's is harmless.
 */
final class Maintenance {
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
          try (PreparedStatement ps = c.prepareStatement("select " + schema + ".maintain()")) {
            ps.execute();
          }
          return null;
        });
  }
}
