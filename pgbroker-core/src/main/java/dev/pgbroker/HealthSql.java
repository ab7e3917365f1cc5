package dev.pgbroker;

import java.sql.PreparedStatement;
import java.util.List;
import javax.sql.DataSource;

/** The statement behind {@link Broker#health}: the SQL function {@code health} in code/80. */
final class HealthSql {
  private final DataSource dataSource;
  private final String schema;

  HealthSql(DataSource dataSource, String schema) {
    this.dataSource = dataSource;
    this.schema = schema;
  }

  Health check(Health.Thresholds limits) {
    List<Health.Warning> warnings =
        Sql.run(
            dataSource,
            "check health",
            c -> {
              try (PreparedStatement ps =
                  c.prepareStatement(
                      "select warning, subject, value, threshold, message from "
                          + schema
                          + ".health(jsonb_build_object('oldest_ready_ms', ?::bigint,"
                          + " 'dead_tuples', ?::bigint, 'xmin_age_ms', ?::bigint))")) {
                ps.setLong(1, limits.oldestReady().toMillis()); // oldest ready message, ms
                ps.setLong(2, limits.deadTuples()); // dead rows per table
                ps.setLong(3, limits.xminAge().toMillis()); // open transaction age, ms
                return Sql.list(
                    ps,
                    rs ->
                        new Health.Warning(
                            rs.getString(1),
                            rs.getString(2),
                            rs.getLong(3),
                            rs.getLong(4),
                            rs.getString(5)));
              }
            });
    return new Health(warnings);
  }
}
