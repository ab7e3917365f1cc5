package dev.pgbroker;

import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;

/**
 * Wakes listening workers after sends commit. A NOTIFY inside the sending transaction would hold
 * PostgreSQL's notify lock through the commit and serialise every sender (measured: 16 concurrent
 * one-message transactions went from 3,600 to 1,000 per second), so sends only mark their queue
 * here and one thread notifies afterwards; a burst of sends to a queue costs one NOTIFY. The
 * notification carries only the queue name, never a message, so payload size is not limited by
 * NOTIFY.
 *
 * <p>A send inside the caller's transaction cannot be seen to commit, so its queue is notified a
 * few times over the following second, and every {@link #MAX_QUIET_MS} while such sends go on (each
 * send starts the schedule over); workers poll as well, so nothing waits longer than that.
 */
final class Notifier {
  /** When to notify after a send inside a caller's transaction, in ms after that send. */
  private static final long[] FOLLOW_UPS_MS = {2, 5, 10, 20, 50, 100, 250, 1000};

  /**
   * The longest a queue goes without a notification while sends inside transactions go on: each
   * send starts the schedule over, so a steady stream of them (one every millisecond or two) would
   * otherwise never reach its first follow-up, and idle workers would wait for their poll.
   */
  private static final long MAX_QUIET_MS = 10;

  private static final long IDLE_MS = 100;

  private final DataSource dataSource;
  private final String channel;
  private final Set<String> pending = ConcurrentHashMap.newKeySet();

  /** Queue to the time of its latest send inside a caller's transaction. */
  private final Map<String, Long> inTransaction = new ConcurrentHashMap<>();

  /** Queue to the time of its first send inside a transaction since it was last notified. */
  private final Map<String, Long> quietSince = new ConcurrentHashMap<>();

  /** The loop's own progress through {@link #FOLLOW_UPS_MS}, per send time seen. */
  private final Map<String, long[]> followUps = new HashMap<>();

  private final Loop loop;

  /**
   * False only while the loop sleeps no longer than the first follow-up; true while it works, as it
   * may have read {@link #inTransaction} before a send changed it.
   */
  private volatile boolean sleepsLong = true;

  private volatile boolean started;
  private volatile boolean closed;

  Notifier(DataSource dataSource, String channel) {
    this.dataSource = dataSource;
    this.channel = channel;
    this.loop = new Loop("pgbroker-notifier", this::step, e -> {});
  }

  /** The channel workers LISTEN on; one per schema. */
  static String channel(String schema) {
    return schema;
  }

  /** Marks the queue as changed by a committed send; returns at once. */
  void changed(String queue) {
    if (!closed && pending.add(queue)) { // else an earlier send's notification covers this one
      wakeLoop();
    }
  }

  /** Marks the queue as changed by a send in a transaction that may commit soon. */
  void changedInTransaction(String queue) {
    if (!closed) {
      long now = System.nanoTime();
      inTransaction.put(queue, now);
      quietSince.putIfAbsent(queue, now);
      // A loop due back within the first follow-up will see this send then. (Waking it on every
      // send cost more CPU than the send itself at a few thousand transactions a second.)
      if (sleepsLong) {
        wakeLoop();
      }
    }
  }

  private void wakeLoop() {
    if (!started) {
      synchronized (this) {
        if (!started) {
          loop.start();
          started = true;
        }
      }
    }
    loop.wake();
  }

  private void step() {
    sleepsLong = true;
    long nextFollowUp = scheduleFollowUps(System.nanoTime());
    if (!pending.isEmpty()) {
      List<String> queues = new ArrayList<>(pending);
      pending.removeAll(queues);
      try {
        notifyWorkers(queues);
      } catch (RuntimeException e) {
        pending.addAll(queues); // workers poll meanwhile, so a late notification loses nothing
        throw e;
      }
    }
    // (rounded up: rounded down, the last fraction of a millisecond was a busy spin)
    long sleepMs = Math.max(0, (nextFollowUp - System.nanoTime() + 999_999) / 1_000_000);
    sleepsLong = sleepMs > FOLLOW_UPS_MS[0];
    loop.await(sleepMs);
  }

  /** Moves due follow-ups into {@link #pending}; returns when the next one falls due. */
  private long scheduleFollowUps(long now) {
    long next = now + TimeUnit.MILLISECONDS.toNanos(IDLE_MS);
    for (Iterator<Map.Entry<String, Long>> it = inTransaction.entrySet().iterator();
        it.hasNext(); ) {
      Map.Entry<String, Long> e = it.next();
      long sentAt = e.getValue();
      long[] state = followUps.get(e.getKey()); // {send time seen, follow-ups done}
      if (state == null || state[0] != sentAt) {
        state = new long[] {sentAt, 0}; // a newer send starts the schedule over
        followUps.put(e.getKey(), state);
      }
      long due = sentAt + TimeUnit.MILLISECONDS.toNanos(FOLLOW_UPS_MS[(int) state[1]]);
      Long quiet = quietSince.get(e.getKey());
      long capped = quiet == null ? due : quiet + TimeUnit.MILLISECONDS.toNanos(MAX_QUIET_MS);
      if (Math.min(due, capped) <= now) {
        pending.add(e.getKey());
        quietSince.remove(e.getKey()); // a send from now on starts a new quiet stretch
      }
      if (due <= now) {
        if (++state[1] == FOLLOW_UPS_MS.length) {
          followUps.remove(e.getKey());
          inTransaction.remove(e.getKey(), sentAt);
          continue;
        }
        due = sentAt + TimeUnit.MILLISECONDS.toNanos(FOLLOW_UPS_MS[(int) state[1]]);
      }
      next = Math.min(next, due);
      quiet = quietSince.get(e.getKey());
      if (quiet != null) {
        next = Math.min(next, quiet + TimeUnit.MILLISECONDS.toNanos(MAX_QUIET_MS));
      }
    }
    return next;
  }

  private void notifyWorkers(List<String> queues) {
    Sql.run(
        dataSource,
        "notify workers",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("select pg_notify(?, q) from unnest(?::text[]) q")) {
            ps.setString(1, channel); // the schema's channel
            ps.setArray(2, c.createArrayOf("text", queues.toArray())); // queues with new messages
            ps.execute();
          }
          return null;
        });
  }

  void close() {
    closed = true;
    loop.stop(Duration.ofSeconds(1));
  }
}
