package dev.pgbroker.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgbroker.QueueStats;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;

/**
 * Follows one queue: a line for each new message and each new dead letter, and a line of counts
 * whenever messages were settled. Settled messages leave the hot table in the statement that
 * settles them, so acks and retries are seen as the queue's counters moving, not one by one.
 *
 * <p>Wakes on the senders' NOTIFY and polls every interval besides (settles do not notify). Message
 * ids come from a sequence but commit in any order, so each poll looks back over the ids of the
 * last {@link #LOOKBACK} and skips the ones already printed: a sending transaction that commits
 * later than that after taking its id is shown only in the counts.
 */
final class QueueTail {
  static final Duration LOOKBACK = Duration.ofSeconds(5);
  private static final int BATCH = 1000;
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

  private final BrokerSession session;
  private final String queue;
  private final boolean json;
  private final PrintWriter out;

  // Ids printed that are still inside the look-back window, and the window's floor over time.
  private final TreeSet<Long> printed = new TreeSet<>();
  private final Deque<long[]> watermarks = new ArrayDeque<>(); // {nanoTime, highest id seen}
  private final Set<String> deadPrinted = new HashSet<>(); // "id@dead_at" within the window
  private long highest;
  private QueueStats last;

  QueueTail(BrokerSession session, String queue, boolean json, PrintWriter out) {
    this.session = session;
    this.queue = queue;
    this.json = json;
    this.out = out;
  }

  /** Follows until {@code duration} has passed (null: until interrupted). */
  void run(Duration interval, Duration duration) throws SQLException {
    last = session.broker().stats(queue); // an unknown queue fails here
    highest = lastIssuedId();
    long deadline = duration == null ? Long.MAX_VALUE : System.nanoTime() + duration.toNanos();
    if (!json) {
      out.printf(
          "following queue %s: new messages and dead letters as they come, settles as counts"
              + " (Ctrl-C to stop)%n",
          queue);
      out.flush();
    }
    try (Wakeups wakeups = new Wakeups(session.dataSource(), session.schema())) {
      while (!Thread.currentThread().isInterrupted()) {
        poll();
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) {
          break;
        }
        wakeups.await(queue, Math.min(left, interval.toMillis()));
      }
    }
  }

  private void poll() throws SQLException {
    long now = System.nanoTime();
    watermarks.addLast(new long[] {now, highest});
    while (watermarks.size() > 1 && now - watermarks.peekFirst()[0] > LOOKBACK.toNanos()) {
      watermarks.removeFirst();
    }
    long floor = watermarks.peekFirst()[1];
    printed.headSet(floor, true).clear();
    try (Connection c = session.dataSource().getConnection()) {
      newMessages(c, floor);
      newDeadLetters(c);
    }
    counts();
    out.flush();
  }

  private void newMessages(Connection c, long floor) throws SQLException {
    String sql =
        "select id, priority, ordering_key, headers::text, payload::text from "
            + session.schema()
            + ".message where queue = ? and id > ? order by id limit ?"; // queue, after id, batch
    long after = floor;
    int rows;
    do {
      rows = 0;
      try (PreparedStatement st = c.prepareStatement(sql)) {
        st.setString(1, queue);
        st.setLong(2, after);
        st.setInt(3, BATCH);
        try (ResultSet rs = st.executeQuery()) {
          while (rs.next()) {
            rows++;
            long id = rs.getLong(1);
            after = id;
            highest = Math.max(highest, id);
            if (printed.add(id)) {
              sent(id, rs.getInt(2), rs.getString(3), rs.getString(4), rs.getString(5));
            }
          }
        }
      }
    } while (rows == BATCH);
  }

  private void newDeadLetters(Connection c) throws SQLException {
    String sql =
        "select id, attempts, errors -> -1 ->> 'error', dead_at from "
            + session.schema()
            + ".dead_letter where queue = ?" // queue
            + " and dead_at > clock_timestamp() - ? * interval '1 millisecond' order by dead_at, id";
    Set<String> inWindow = new HashSet<>();
    try (PreparedStatement st = c.prepareStatement(sql)) {
      st.setString(1, queue);
      st.setLong(2, LOOKBACK.toMillis()); // the look-back window
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          Timestamp at = rs.getTimestamp(4);
          String key = rs.getLong(1) + "@" + at.getTime() + "." + at.getNanos();
          inWindow.add(key);
          if (deadPrinted.add(key)) {
            dead(rs.getLong(1), rs.getInt(2), rs.getString(3), at.toInstant());
          }
        }
      }
    }
    deadPrinted.retainAll(inWindow);
  }

  private void counts() {
    QueueStats now = session.broker().stats(queue);
    long sent = now.sent() - last.sent();
    long acked = now.acked() - last.acked();
    long failed = now.failed() - last.failed();
    long dead = now.deadLettered() - last.deadLettered();
    boolean moved =
        acked != 0 || failed != 0 || dead != 0 || now.inFlight() != last.inFlight() || sent != 0;
    last = now;
    if (!moved) {
      return;
    }
    if (json) {
      ObjectNode n = event("counts");
      n.put("sent", sent);
      n.put("acked", acked);
      n.put("failed", failed);
      n.put("dead_lettered", dead);
      n.put("ready", now.ready());
      n.put("delayed", now.delayed());
      n.put("in_flight", now.inFlight());
      n.put("dead", now.dead());
      Output.json(out, n);
    } else {
      out.printf(
          "%s counts  sent +%d  acked +%d  failed +%d  dead-lettered +%d  | ready %d  delayed %d"
              + "  in flight %d  dead %d%n",
          clock(),
          sent,
          acked,
          failed,
          dead,
          now.ready(),
          now.delayed(),
          now.inFlight(),
          now.dead());
    }
  }

  private void sent(long id, int priority, String key, String headers, String payload) {
    if (json) {
      ObjectNode n = event("sent");
      n.put("id", id);
      n.put("priority", priority);
      n.put("ordering_key", key);
      n.set("headers", Output.tree(headers));
      n.set("payload", Output.tree(payload));
      Output.json(out, n);
    } else {
      out.printf(
          "%s sent    id=%d%s%s %s%n",
          clock(),
          id,
          priority == 0 ? "" : " priority=" + priority,
          key == null ? "" : " key=" + key,
          Output.shorten(payload, 120));
    }
  }

  private void dead(long id, int attempts, String error, Instant at) {
    if (json) {
      ObjectNode n = event("dead_lettered");
      n.put("id", id);
      n.put("attempts", attempts);
      n.put("error", error);
      n.put("dead_at", at.toString());
      Output.json(out, n);
    } else {
      out.printf(
          "%s dead    id=%d after %d attempt%s: %s%n",
          clock(), id, attempts, attempts == 1 ? "" : "s", Output.shorten(error, 160));
    }
  }

  private ObjectNode event(String type) {
    ObjectNode n = Output.object();
    n.put("event", type);
    n.put("queue", queue);
    n.put("at", Instant.now().toString());
    return n;
  }

  // Every message sent from now on has a higher id, or commits within the look-back window.
  private long lastIssuedId() throws SQLException {
    try (Connection c = session.dataSource().getConnection();
        PreparedStatement st =
            c.prepareStatement(
                "select case when is_called then last_value else last_value - 1 end from "
                    + session.schema()
                    + ".message_id_seq");
        ResultSet rs = st.executeQuery()) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static String clock() {
    return LocalTime.now(ZoneId.systemDefault()).format(TIME);
  }
}
