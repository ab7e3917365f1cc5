package dev.pgbroker;

import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import javax.sql.DataSource;

/** The statements about queues: create, delete, list, settings and stats. */
final class QueueSql {
  private final DataSource dataSource;
  private final String schema;
  private final Rows rows;

  QueueSql(DataSource dataSource, String schema, Rows rows) {
    this.dataSource = dataSource;
    this.schema = schema;
    this.rows = rows;
  }

  void create(String queue, String optionsJson) {
    Sql.run(
        dataSource,
        "create queue " + queue,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("select " + schema + ".create_queue(?, ?::jsonb)")) {
            ps.setString(1, queue); // queue name
            ps.setString(2, optionsJson); // the settings given, as create_queue option keys
            ps.execute();
          }
          return null;
        });
  }

  boolean delete(String queue) {
    return Sql.run(
        dataSource,
        "delete queue " + queue,
        c -> {
          try (PreparedStatement ps = c.prepareStatement("select " + schema + ".delete_queue(?)")) {
            ps.setString(1, queue); // queue name
            return Sql.single(ps, rs -> rs.getBoolean(1));
          }
        });
  }

  List<String> names() {
    return Sql.run(
        dataSource,
        "list queues",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("select name from " + schema + ".queue order by name")) {
            return Sql.list(ps, rs -> rs.getString(1));
          }
        });
  }

  QueueOptions options(String queue) {
    String json =
        Sql.run(
            dataSource,
            "read settings of queue " + queue,
            c -> {
              try (PreparedStatement ps =
                  c.prepareStatement(
                      "select to_jsonb(q) - 'name' - 'created_at' from "
                          + schema
                          + "._find_queue(?) q")) {
                ps.setString(1, queue); // queue name; _find_queue raises for an unknown one
                return Sql.single(ps, rs -> rs.getString(1));
              }
            });
    return QueueOptions.fromColumns(rows.map(json));
  }

  /** Reads only: counter rows are summed here and folded by maintenance, never by a read. */
  QueueStats stats(String queue) {
    return Sql.run(
        dataSource,
        "stats of queue " + queue,
        c -> {
          try (PreparedStatement ps = c.prepareStatement("select * from " + schema + ".stats(?)")) {
            ps.setString(1, queue); // queue name
            return Sql.single(
                ps,
                rs ->
                    new QueueStats(
                        queue,
                        rs.getLong("ready"),
                        rs.getLong("delayed"),
                        rs.getLong("in_flight"),
                        rs.getLong("dead"),
                        Duration.ofMillis(rs.getLong("oldest_ready_age_ms")),
                        rs.getLong("sent"),
                        rs.getLong("acked"),
                        rs.getLong("failed"),
                        rs.getLong("dead_lettered")));
          }
        });
  }
}
