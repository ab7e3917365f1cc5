package dev.pgbroker.server.http;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;
import org.postgresql.util.PSQLException;

/**
 * Ack, nack and extend by queue, id and lease, as an HTTP client holds them: through the SQL
 * functions of the same names, which check every argument and refuse a stale lease by returning
 * false. Every value is a bound parameter; only the schema name, validated by Broker, is in the
 * text.
 *
 * <p>Batches go through the array functions behind those ({@code _ack}, {@code _nack}), the
 * statements {@code Broker.ackAll} runs: one statement per request settles every message whose
 * lease still holds and names them, so the rest were stale. Like {@code Broker}'s settles, they
 * commit asynchronously: a settle lost in a database crash means a delivery again, which
 * at-least-once allows.
 */
final class Settlements {
  private final DataSource dataSource;
  private final String ack;
  private final String nack;
  private final String extend;
  private final String ackAll;
  private final String nackAll;

  Settlements(DataSource dataSource, String schema) {
    this.dataSource = dataSource;
    this.ack = "select " + schema + ".ack(?, ?, ?::uuid)";
    this.nack = "select " + schema + ".nack(?, ?, ?::uuid, ?, ?)";
    this.extend = "select " + schema + ".extend(?, ?, ?::uuid, ?)";
    String async = ", set_config('synchronous_commit', 'off', true)";
    this.ackAll = "select r.id, null" + async + " from " + schema + "._ack(?, ?, ?) r";
    this.nackAll = "select r.id, r.outcome" + async + " from " + schema + "._nack(?, ?, ?, ?, ?) r";
  }

  boolean ack(String queue, long id, UUID lease) throws SQLException {
    return call(ack, queue, id, lease, null, null, false);
  }

  /** {@code delayMs} null: the message's (or queue's) backoff. */
  boolean nack(String queue, long id, UUID lease, String error, Long delayMs) throws SQLException {
    return call(nack, queue, id, lease, errorText(error), delayMs, true);
  }

  /** PostgreSQL text cannot hold NUL; written out as Broker writes it. */
  static String errorText(String error) {
    return error == null ? null : error.replace("\u0000", "\\u0000");
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

  /** One message of a batch: its id, lease and, for a nack, its error and delay (may be null). */
  record Settle(long id, UUID lease, String error, Long delayMs) {}

  /** Acks the batch in one statement; returns the ids acked, mapped to "acked". */
  Map<Long, String> ackAll(String queue, List<Settle> batch) throws SQLException {
    return batch(ackAll, queue, batch, false);
  }

  /** Nacks the batch in one statement; returns the ids settled, mapped to "retry" or "dead". */
  Map<Long, String> nackAll(String queue, List<Settle> batch) throws SQLException {
    return batch(nackAll, queue, batch, true);
  }

  private Map<Long, String> batch(String sql, String queue, List<Settle> batch, boolean nack)
      throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      c.setAutoCommit(true);
      ps.setString(1, queue); // the queue, validated by the caller and again by the function
      ps.setArray(2, c.createArrayOf("bigint", batch.stream().map(Settle::id).toArray()));
      ps.setArray(3, c.createArrayOf("uuid", batch.stream().map(Settle::lease).toArray()));
      if (nack) {
        // each message's retry delay (null: its backoff) and error (null: none)
        ps.setArray(4, c.createArrayOf("bigint", batch.stream().map(Settle::delayMs).toArray()));
        ps.setArray(5, c.createArrayOf("text", batch.stream().map(Settle::error).toArray()));
      }
      Map<Long, String> settled = new HashMap<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          settled.put(rs.getLong(1), nack ? rs.getString(2) : "acked");
        }
      }
      return settled;
    } catch (PSQLException e) {
      throw SqlErrors.toApiError(e);
    }
  }
}
