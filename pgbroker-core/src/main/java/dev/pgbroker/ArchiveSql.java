package dev.pgbroker;

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
    return Sql.queueRows(dataSource, schema, "archive", "t.*", queue, id, limit, rows::archived);
  }
}
