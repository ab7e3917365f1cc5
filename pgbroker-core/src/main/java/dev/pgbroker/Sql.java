package dev.pgbroker;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.postgresql.util.PSQLException;

/** Runs JDBC work and turns database errors into the exceptions the API promises. */
final class Sql {
  /** SQLSTATEs raised by the schema's functions; see code/10_helpers.sql. */
  static final String UNKNOWN_QUEUE = "PB001";

  static final String INVALID_ARGUMENT = "PB002";

  static final String UNKNOWN_TOPIC = "PB003";

  /** Malformed text for a typed value, such as JSON or a UUID. */
  private static final String INVALID_TEXT = "22P02";

  private static final String INVALID_JSON = "22032";

  /** A character the database cannot store, such as \u0000 in a jsonb string. */
  private static final String UNTRANSLATABLE = "22P05";

  /** Text the server cannot take as UTF-8, such as a NUL character in a text parameter. */
  private static final String INVALID_ENCODING = "22021";

  /** A number too large for PostgreSQL's numeric, such as 1e999999 in a JSON payload. */
  private static final String NUMBER_OUT_OF_RANGE = "22003";

  /**
   * Appended to the FROM list of a single-statement transaction of pgbroker's own (a lease, an ack,
   * a nack): it commits without waiting for the WAL flush. A crash in the following moment can undo
   * it, which means a redelivery, never a loss; at-least-once delivery allows that, and it saved
   * 13% of worker throughput. Never used in a caller's transaction.
   */
  static final String ASYNC_COMMIT = ", set_config('synchronous_commit', 'off', true)";

  @FunctionalInterface
  interface Work<T> {
    T run(Connection c) throws SQLException;
  }

  @FunctionalInterface
  interface Column<T> {
    T read(ResultSet rs) throws SQLException;
  }

  private Sql() {}

  /** Runs work on a pooled connection as one transaction of its own. */
  static <T> T run(DataSource ds, String action, Work<T> work) {
    try (Connection c = ds.getConnection()) {
      boolean auto = c.getAutoCommit();
      try {
        T result = work.run(c);
        if (!auto) {
          c.commit();
        }
        return result;
      } catch (SQLException | RuntimeException e) {
        if (!auto) {
          c.rollback();
        }
        throw e;
      }
    } catch (SQLException e) {
      throw translate(action, e);
    }
  }

  /** Runs work on the caller's connection, inside whatever transaction the caller has open. */
  static <T> T onCaller(Connection c, String action, Work<T> work) {
    try {
      return work.run(c);
    } catch (SQLException e) {
      throw translate(action, e);
    }
  }

  /** Raises {@link UnknownQueueException} (through PB001) unless the queue exists. */
  static void requireQueue(Connection c, String schema, String queue) throws SQLException {
    try (PreparedStatement check =
        c.prepareStatement("select 1 from " + schema + "._find_queue(?)")) {
      check.setString(1, queue); // queue name
      check.execute();
    }
  }

  /**
   * One queue's rows of {@code table} (its live messages, dead letters or archive), oldest first,
   * at most {@code limit}; or only the one with {@code id} when it is not null. {@code columns} is
   * the select list over the table aliased {@code t}. Unknown queues raise.
   */
  static <T> List<T> queueRows(
      DataSource ds,
      String schema,
      String table,
      String columns,
      String queue,
      Long id,
      int limit,
      Column<T> row) {
    return run(
        ds,
        "list " + table.replace('_', ' ') + " rows of queue " + queue,
        c -> {
          requireQueue(c, schema, queue);
          try (PreparedStatement ps =
              c.prepareStatement(
                  "select "
                      + columns
                      + " from "
                      + schema
                      + "."
                      + table
                      + " t where t.queue = ? and (?::bigint is null or t.id = ?)"
                      + " order by t.id limit ?")) {
            ps.setString(1, queue); // queue name
            ps.setObject(2, id, Types.BIGINT); // one row's id, or null for all
            ps.setObject(3, id, Types.BIGINT); // the same id
            ps.setInt(4, limit); // most rows to return
            return list(ps, row);
          }
        });
  }

  /** Runs a query that returns one row and reads it. */
  static <T> T single(PreparedStatement ps, Column<T> column) throws SQLException {
    try (ResultSet rs = ps.executeQuery()) {
      rs.next();
      return column.read(rs);
    }
  }

  /** Runs a query and reads every row. */
  static <T> List<T> list(PreparedStatement ps, Column<T> column) throws SQLException {
    List<T> out = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(column.read(rs));
      }
    }
    return out;
  }

  static RuntimeException translate(String action, SQLException e) {
    String state = e.getSQLState();
    String message = serverMessage(e);
    if (UNKNOWN_QUEUE.equals(state)) {
      return new UnknownQueueException(action + ": " + message, e);
    }
    if (UNKNOWN_TOPIC.equals(state)) {
      return new UnknownTopicException(action + ": " + message, e);
    }
    if (INVALID_ARGUMENT.equals(state)
        || INVALID_TEXT.equals(state)
        || INVALID_JSON.equals(state)
        || UNTRANSLATABLE.equals(state)
        || INVALID_ENCODING.equals(state)
        || NUMBER_OUT_OF_RANGE.equals(state)) {
      String hint =
          switch (state) {
            case UNTRANSLATABLE, INVALID_ENCODING ->
                " (PostgreSQL stores no NUL character, \\u0000, and no unpaired surrogate)";
            case NUMBER_OUT_OF_RANGE -> " (a JSON number beyond the range of PostgreSQL's numeric)";
            default -> "";
          };
      return new IllegalArgumentException(action + ": " + message + hint, e);
    }
    return new BrokerException(action + " failed: " + message, e);
  }

  private static String serverMessage(SQLException e) {
    if (e instanceof PSQLException p && p.getServerErrorMessage() != null) {
      return p.getServerErrorMessage().getMessage();
    }
    return e.getMessage();
  }
}
