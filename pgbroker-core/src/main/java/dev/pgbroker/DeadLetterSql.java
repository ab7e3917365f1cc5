package dev.pgbroker;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;
import javax.sql.DataSource;

/** The statements about dead letters: list, find, replay and purge. */
final class DeadLetterSql {
  private final DataSource dataSource;
  private final String schema;
  private final Rows rows;

  DeadLetterSql(DataSource dataSource, String schema, Rows rows) {
    this.dataSource = dataSource;
    this.schema = schema;
    this.rows = rows;
  }

  /** The oldest first, at most {@code limit}; or only the one with {@code id} when not null. */
  List<DeadLetter> list(String queue, Long id, int limit) {
    return Sql.queueRows(
        dataSource, schema, "dead_letter", "t.*", queue, id, limit, rows::deadLetter);
  }

  /** The dead letter {@code id} of the queue, read inside the caller's transaction, or null. */
  DeadLetter find(Connection c, String queue, long id) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("select * from " + schema + ".dead_letter where queue = ? and id = ?")) {
      ps.setString(1, queue); // queue name
      ps.setLong(2, id); // the dead letter's id (its message's)
      List<DeadLetter> found = Sql.list(ps, rows::deadLetter);
      return found.isEmpty() ? null : found.get(0);
    }
  }

  /**
   * Replays those in {@code ids} (null: any) whose errors contain {@code errorContains} (null:
   * any).
   */
  int replay(String queue, Long[] ids, String errorContains) {
    return Sql.run(
        dataSource,
        "replay dead letters of queue " + queue,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("select " + schema + ".replay_dead_letters(?, ?::bigint[], ?)")) {
            ps.setString(1, queue); // queue name
            ps.setArray(2, ids == null ? null : c.createArrayOf("bigint", ids)); // null: any id
            ps.setString(3, errorContains); // text an error must contain; null: any
            return Sql.single(ps, rs -> rs.getInt(1));
          }
        });
  }

  /** Deletes those in {@code ids} (null: all) for good. */
  int purge(String queue, Long[] ids) {
    return Sql.run(
        dataSource,
        "purge dead letters of queue " + queue,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("select " + schema + ".purge_dead_letters(?, ?::bigint[])")) {
            ps.setString(1, queue); // queue name
            ps.setArray(2, ids == null ? null : c.createArrayOf("bigint", ids)); // null: all
            return Sql.single(ps, rs -> rs.getInt(1));
          }
        });
  }
}
