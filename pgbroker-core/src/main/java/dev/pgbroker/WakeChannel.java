package dev.pgbroker;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds one connection that LISTENs on the schema's channel and wakes the queue each notification
 * names. If the connection breaks, the loop's backoff reconnects it and then every queue is woken,
 * since notifications sent in between are lost. A connection can also die silently (a firewall or
 * proxy that stops forwarding, a half-open TCP connection): waiting for notifications never fails
 * then, so a query with a network timeout probes it every few seconds.
 */
final class WakeChannel {
  private static final Logger log = LoggerFactory.getLogger(WakeChannel.class);
  private static final int WAIT_MS = 250;

  /** How often the silent connection is probed, and how long the probe may take. */
  static final long PROBE_EVERY_NANOS = 5_000_000_000L;

  static final int PROBE_TIMEOUT_MS = 5_000;

  private final DataSource dataSource;
  private final String channel;
  private final Consumer<String> wake;
  private final Loop loop;
  private Connection connection;
  private boolean lost;
  private long probedAt;

  /** {@code wake} receives a queue name, or null for "all queues". */
  WakeChannel(
      DataSource dataSource, String channel, Consumer<String> wake, WorkerListener listener) {
    this.dataSource = dataSource;
    this.channel = channel;
    this.wake = wake;
    this.loop =
        new Loop(
            "pgbroker-wake-channel",
            this::step,
            e -> {
              listener.databaseError("listen for notifications", e);
              disconnect();
              lost = true;
            });
  }

  void start() {
    loop.start();
  }

  void stop() {
    loop.stop(Duration.ofMillis(2L * WAIT_MS + 1000));
    unlistenAndClose();
  }

  private void step() throws SQLException {
    if (connection == null) {
      Connection c = dataSource.getConnection();
      c.setAutoCommit(true);
      connection = c;
      c.setNetworkTimeout(Runnable::run, PROBE_TIMEOUT_MS); // the driver only sets SO_TIMEOUT
      try (Statement s = c.createStatement()) {
        s.execute("listen \"" + channel + "\"");
      }
      probedAt = System.nanoTime();
      if (lost) {
        log.info("pgbroker: listening for notifications again");
        wake.accept(null);
        lost = false;
      }
    }
    PGNotification[] got = connection.unwrap(PGConnection.class).getNotifications(WAIT_MS);
    if (got != null) {
      for (PGNotification n : got) {
        wake.accept(n.getParameter());
      }
    }
    if (System.nanoTime() - probedAt > PROBE_EVERY_NANOS) {
      try (Statement s = connection.createStatement()) {
        s.execute("select 1"); // times out on a dead connection; the loop then reconnects
      }
      probedAt = System.nanoTime();
    }
  }

  /** The pool must not keep a listening connection that nobody reads. */
  private synchronized void unlistenAndClose() {
    if (connection == null) {
      return;
    }
    try (Statement s = connection.createStatement()) {
      s.execute("unlisten *");
    } catch (SQLException e) {
      log.debug("pgbroker: unlisten failed; closing the connection anyway", e);
    }
    disconnect();
  }

  private synchronized void disconnect() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException ignored) {
        // a broken connection is what brought us here
      }
      connection = null;
    }
  }
}
