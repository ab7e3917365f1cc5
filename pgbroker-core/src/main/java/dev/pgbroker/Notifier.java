package dev.pgbroker;

import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wakes listening workers after sends commit. A NOTIFY inside every sending transaction would
 * serialise commits on PostgreSQL's notify lock, so sends only mark their queue here and one
 * thread notifies afterwards; a burst of sends to a queue costs one NOTIFY. The notification
 * carries only the queue name, never a message, so payload size is not limited by NOTIFY.
 */
final class Notifier {
  private static final Logger log = LoggerFactory.getLogger(Notifier.class);

  private final DataSource dataSource;
  private final String channel;
  private final Set<String> pending = ConcurrentHashMap.newKeySet();
  private volatile Thread thread;
  private volatile boolean closed;

  Notifier(DataSource dataSource, String channel) {
    this.dataSource = dataSource;
    this.channel = channel;
  }

  /** The channel workers LISTEN on; one per schema. */
  static String channel(String schema) {
    return schema;
  }

  /** Marks the queue as changed by a committed send; returns at once. */
  void changed(String queue) {
    if (closed || !pending.add(queue)) {
      return; // an earlier send's notification has not gone out yet and covers this one
    }
    Thread t = thread;
    if (t == null) {
      t = start();
    }
    LockSupport.unpark(t);
  }

  private synchronized Thread start() {
    if (thread == null) {
      Thread t = new Thread(this::run, "pgbroker-notifier");
      t.setDaemon(true);
      t.start();
      thread = t;
    }
    return thread;
  }

  private void run() {
    while (!closed) {
      if (pending.isEmpty()) {
        LockSupport.parkNanos(100_000_000L);
        continue;
      }
      List<String> queues = new ArrayList<>(pending);
      pending.removeAll(queues);
      try {
        Sql.run(dataSource, "notify workers", c -> {
          try (PreparedStatement ps = c.prepareStatement(
              "select pg_notify(?, q) from unnest(?::text[]) q")) {
            ps.setString(1, channel); // the schema's channel
            ps.setArray(2, c.createArrayOf("text", queues.toArray())); // queues with new messages
            ps.execute();
          }
          return null;
        });
      } catch (RuntimeException e) {
        // Workers still poll, so a lost notification delays delivery but loses nothing.
        log.warn("pgbroker: could not notify workers of new messages: {}", e.getMessage());
        LockSupport.parkNanos(200_000_000L);
      }
    }
  }

  void close() {
    closed = true;
    Thread t = thread;
    if (t != null) {
      LockSupport.unpark(t);
    }
  }
}
