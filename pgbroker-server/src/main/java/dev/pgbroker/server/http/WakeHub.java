package dev.pgbroker.server.http;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wakes long-polling receives when a send commits. One connection LISTENs on the schema's channel
 * (senders notify it with the queue's name after commit, from Java and from SQL alike); each
 * notification bumps its queue's generation and wakes the waiters. A waiter that sees no change
 * sleeps until its deadline, so an idle long poll costs no queries. After a lost connection every
 * queue is woken, since notifications sent meanwhile are gone.
 */
final class WakeHub implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WakeHub.class);
  private static final int LISTEN_WAIT_MS = 500;
  private static final long RECONNECT_MS = 1000;

  private final DataSource dataSource;
  private final String channel;
  private final Map<String, Long> generations = new HashMap<>();
  private final Thread thread;
  private long everyQueue;
  private volatile boolean closed;

  WakeHub(DataSource dataSource, String channel) {
    this.dataSource = dataSource;
    this.channel = channel;
    this.thread = new Thread(this::run, "pgbroker-http-listen");
    thread.setDaemon(true);
    thread.start();
  }

  /** A number that changes when the queue may have new messages. */
  synchronized long generation(String queue) {
    return generations.getOrDefault(queue, 0L) + everyQueue;
  }

  /**
   * Waits until the queue's generation differs from {@code seen}, or the deadline passes; false
   * once closed, when waiting is over for good.
   */
  synchronized boolean await(String queue, long seen, long deadlineNanos)
      throws InterruptedException {
    long left;
    while (!closed && generation(queue) == seen && (left = deadlineNanos - System.nanoTime()) > 0) {
      wait(Math.max(1, left / 1_000_000));
    }
    return !closed;
  }

  private synchronized void wake(String queue) {
    if (queue == null) {
      everyQueue++;
    } else {
      generations.merge(queue, 1L, Long::sum);
    }
    notifyAll();
  }

  private void run() {
    while (!closed) {
      try (Connection c = dataSource.getConnection()) {
        c.setAutoCommit(true);
        try (Statement st = c.createStatement()) {
          st.execute("listen \"" + channel + "\""); // the schema name, validated by Broker
        }
        wake(null); // sends made before LISTEN took hold went unheard
        PGConnection pg = c.unwrap(PGConnection.class);
        while (!closed) {
          PGNotification[] got = pg.getNotifications(LISTEN_WAIT_MS);
          if (got != null) {
            for (PGNotification n : got) {
              wake(n.getParameter().isEmpty() ? null : n.getParameter());
            }
          }
        }
      } catch (SQLException | RuntimeException e) {
        if (!closed) {
          log.warn("LISTEN connection lost, reconnecting in {} ms: {}", RECONNECT_MS, e.toString());
          wake(null);
          sleep();
        }
      }
    }
  }

  private void sleep() {
    try {
      Thread.sleep(RECONNECT_MS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closed = true;
    }
  }

  @Override
  public void close() {
    closed = true;
    synchronized (this) {
      notifyAll();
    }
    thread.interrupt();
    try {
      thread.join(2L * LISTEN_WAIT_MS + 1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
