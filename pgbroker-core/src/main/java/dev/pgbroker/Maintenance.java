package dev.pgbroker;

import java.sql.PreparedStatement;
import java.time.Duration;
import javax.sql.DataSource;

/**
 * Prunes expired archive rows and dedup keys and folds counter rows, so stats stay one cheap read.
 * The SQL function also takes a lock of its own, so a manual run beside the leader's is harmless.
 */
final class Maintenance implements Service {
  private final DataSource dataSource;
  private final String schema;
  private final Duration interval;

  Maintenance(DataSource dataSource, String schema, Duration interval) {
    this.dataSource = dataSource;
    this.schema = schema;
    this.interval = interval;
  }

  /** Runs every upkeep service once, here and now (for applications that run no worker). */
  static void runOnce(DataSource dataSource, String schema) {
    new Maintenance(dataSource, schema, Duration.ZERO).run();
    new HotTableVacuum(dataSource, schema, Duration.ZERO).run();
  }

  @Override
  public String name() {
    return "maintenance";
  }

  @Override
  public Duration interval() {
    return interval;
  }

  @Override
  public void run() {
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
