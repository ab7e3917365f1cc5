package dev.pgbroker;

import java.sql.PreparedStatement;
import java.sql.Types;
import java.util.List;
import javax.sql.DataSource;

/** The statements about the archive: acknowledged messages kept by a queue's retention. */
final class ArchiveSql {
  private final DataSource dataSource;
  private final String schema;
  private final Rows rows;

  ArchiveSql(DataSource dataSource, String schema, Rows rows) {
    this.dataSource = dataSource;
    this.schema = schema;
    this.rows = rows;
  }

  /** The oldest first, at most {@code limit}; or only the one with {@code id} when not null. */
  List<ArchivedMessage> list(String queue, Long id, int limit) {
    return Sql.run(
        dataSource,
        "list archived messages of queue " + queue,
        c -> {
          Sql.requireQueue(c, schema, queue);
          try (PreparedStatement ps =
              c.prepareStatement(
                  "select * from "
                      + schema
                      + ".archive"
                      + " where queue = ? and (?::bigint is null or id = ?) order by id limit ?")) {
            ps.setString(1, queue); // queue name
            ps.setObject(2, id, Types.BIGINT); // one archived message's id, or null for all
            ps.setObject(3, id, Types.BIGINT); // the same id
            ps.setInt(4, limit); // most rows to return
            return Sql.list(ps, rows::archived);
          }
        });
  }
}
