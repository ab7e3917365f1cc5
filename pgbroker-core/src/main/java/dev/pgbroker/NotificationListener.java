package dev.pgbroker;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds one connection that LISTENs on the schema's channel and wakes the queue each
 * notification names. If the connection breaks, it reconnects with backoff and then wakes every
 * queue, since notifications sent in between are lost.
 */
final class NotificationListener {
  private static final Logger log = LoggerFactory.getLogger(NotificationListener.class);
  private static final int WAIT_MS = 250;

  private final DataSource dataSource;
  private final String channel;
  private final Consumer<String> wake;
  private final WorkerListener listener;
  private final Thread thread;
  private volatile boolean stopped;

  /** {@code wake} receives a queue name, or null for "all queues". */
  NotificationListener(DataSource dataSource, String channel, Consumer<String> wake, WorkerListener listener) {
    this.dataSource = dataSource;
    this.channel = channel;
    this.wake = wake;
    this.listener = listener;
    this.thread = new Thread(this::run, "pgbroker-listen");
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  void stop() {
    stopped = true;
    try {
      thread.join(2 * WAIT_MS + 1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    long backoffMs = 0;
    boolean reconnecting = false;
    while (!stopped) {
      try (Connection c = dataSource.getConnection()) {
        c.setAutoCommit(true);
        try (Statement s = c.createStatement()) {
          s.execute("listen \"" + channel + "\"");
        }
        if (reconnecting) {
          log.info("pgbroker: listening for notifications again");
          wake.accept(null);
        }
        backoffMs = 0;
        PGConnection pg = c.unwrap(PGConnection.class);
        while (!stopped) {
          PGNotification[] got = pg.getNotifications(WAIT_MS);
          if (got != null) {
            for (PGNotification n : got) {
              wake.accept(n.getParameter());
            }
          }
        }
        try (Statement s = c.createStatement()) {
          s.execute("unlisten *"); // the pool must not keep a listening connection nobody reads
        }
      } catch (SQLException | RuntimeException e) {
        if (stopped) {
          return;
        }
        listener.databaseError("listen for notifications", e);
        backoffMs = Math.min(Math.max(backoffMs * 2, 100), 5_000);
        log.warn("pgbroker: notification connection lost, reconnecting in {} ms (polling meanwhile): {}",
            backoffMs, e.getMessage());
        reconnecting = true;
        sleep(backoffMs);
      }
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
