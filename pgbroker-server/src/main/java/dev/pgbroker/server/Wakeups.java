package dev.pgbroker.server;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * A connection LISTENing on the schema's channel, where senders NOTIFY the queue's name after they
 * commit: {@code receive --wait} and {@code tail} sleep on it instead of polling in a tight loop.
 * The notification carries no message, so callers still look for themselves (and poll slowly as a
 * backstop for notifications lost while reconnecting).
 */
final class Wakeups implements AutoCloseable {
  private final Connection connection;
  private final PGConnection listener;

  Wakeups(DataSource dataSource, String schema) throws SQLException {
    connection = dataSource.getConnection();
    try (Statement s = connection.createStatement()) {
      // schema is validated by the broker (a-z, 0-9, _), so quoting it is enough.
      s.execute("listen \"" + schema + "\"");
      listener = connection.unwrap(PGConnection.class);
    } catch (SQLException e) {
      connection.close();
      throw e;
    }
  }

  /** Waits up to {@code timeoutMs} for a notification about {@code queue}; true if one came. */
  boolean await(String queue, long timeoutMs) throws SQLException {
    long deadline = System.nanoTime() + timeoutMs * 1_000_000;
    long left = timeoutMs;
    while (left > 0) {
      PGNotification[] got = listener.getNotifications((int) Math.max(1, Math.min(left, 60_000)));
      if (got != null) {
        for (PGNotification n : got) {
          if (queue.equals(n.getParameter())) {
            return true;
          }
        }
      }
      left = (deadline - System.nanoTime()) / 1_000_000;
    }
    return false;
  }

  @Override
  public void close() throws SQLException {
    // The connection goes back to a pool: it must not keep listening there.
    try (Statement s = connection.createStatement()) {
      s.execute("unlisten *");
    } finally {
      connection.close();
    }
  }
}
