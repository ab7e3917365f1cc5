package dev.pgbroker.server.http;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.UUID;
import javax.sql.DataSource;
import org.postgresql.util.PSQLException;

/**
 * Ack, nack and extend by queue, id and lease, as an HTTP client holds them: through the SQL
 * functions of the same names, which check every argument and refuse a stale lease by returning
 * false. Every value is a bound parameter; only the schema name, validated by Broker, is in the
 * text.
 */
final class Settlements {
  private final DataSource dataSource;
  private final String ack;
  private final String nack;
  private final String extend;

  Settlements(DataSource dataSource, String schema) {
    this.dataSource = dataSource;
    this.ack = "select " + schema + ".ack(?, ?, ?::uuid)";
    this.nack = "select " + schema + ".nack(?, ?, ?::uuid, ?, ?)";
    this.extend = "select " + schema + ".extend(?, ?, ?::uuid, ?)";
  }

  boolean ack(String queue, long id, UUID lease) throws SQLException {
    return call(ack, queue, id, lease, null, null, false);
  }

  /** {@code delayMs} null: the message's (or queue's) backoff. */
  boolean nack(String queue, long id, UUID lease, String error, Long delayMs) throws SQLException {
    return call(nack, queue, id, lease, error, delayMs, true);
  }

  boolean extend(String queue, long id, UUID lease, long extendMs) throws SQLException {
    return call(extend, queue, id, lease, null, extendMs, false);
  }

  private boolean call(
      String sql, String queue, long id, UUID lease, String error, Long ms, boolean withError)
      throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      c.setAutoCommit(true);
      int i = 0;
      ps.setString(++i, queue); // the queue, validated by the caller and again by the function
      ps.setLong(++i, id); // the message id
      ps.setString(++i, lease.toString()); // the lease token from receive
      if (withError) {
        ps.setString(++i, error); // the error to record, may be null
      }
      if (ms != null || withError) {
        if (ms == null) {
          ps.setNull(++i, Types.BIGINT); // null: the backoff decides
        } else {
          ps.setLong(++i, ms); // nack's delay_ms or extend's extend_ms
        }
      }
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    } catch (PSQLException e) {
      throw SqlErrors.toApiError(e);
    }
  }
}
