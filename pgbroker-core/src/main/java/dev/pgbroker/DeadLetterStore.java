package dev.pgbroker;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One queue's dead letters: messages that used up their attempts, with every attempt's error.
 * Replay puts a message back as new (same id, attempts reset, error history kept). Safe to share
 * between threads.
 */
public final class DeadLetterStore {
  /** Most dead letters one {@link #list} call returns. */
  public static final int MAX_LIST = 10_000;

  private final Broker broker;
  private final String queue;

  DeadLetterStore(Broker broker, String queue) {
    this.broker = broker;
    this.queue = queue;
  }

  /** The oldest dead letters first, at most {@code limit}. */
  public List<DeadLetter> list(int limit) {
    if (limit < 1 || limit > MAX_LIST) {
      throw new IllegalArgumentException("limit must be between 1 and " + MAX_LIST + ", was " + limit);
    }
    return select("select * from %s.dead_letter where queue = ? order by id limit " + limit, null);
  }

  public Optional<DeadLetter> find(long id) {
    return select("select * from %s.dead_letter where queue = ? and id = ?", id).stream().findFirst();
  }

  /** Replays one dead letter; false if there is none with that id. */
  public boolean replay(long id) {
    return call("replay", new Long[] {id}, null) == 1;
  }

  /** Replays the dead letters any of whose errors contains {@code text}; returns how many. */
  public int replayWhereErrorContains(String text) {
    if (text == null || text.isEmpty()) {
      throw new IllegalArgumentException("text to match must not be empty; use replayAll()");
    }
    return call("replay", null, text);
  }

  /** Replays every dead letter of the queue; returns how many. */
  public int replayAll() {
    return call("replay", null, null);
  }

  /** Deletes one dead letter for good; false if there is none with that id. */
  public boolean purge(long id) {
    return call("purge_dead", new Long[] {id}, null) == 1;
  }

  /** Deletes every dead letter of the queue; returns how many. */
  public int purgeAll() {
    return call("purge_dead", null, null);
  }

  private int call(String function, Long[] ids, String errorContains) {
    String schema = broker.schema();
    String sql = function.equals("replay")
        ? "select " + schema + ".replay(?, ?::bigint[], ?)"
        : "select " + schema + ".purge_dead(?, ?::bigint[])";
    return Sql.run(broker.dataSource(), function.replace('_', ' ') + " in queue " + queue, c -> {
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        ps.setString(1, queue); // queue name
        ps.setArray(2, ids == null ? null : c.createArrayOf("bigint", ids)); // null: any id
        if (errorContains != null || function.equals("replay")) {
          ps.setString(3, errorContains); // text an error must contain; null: any
        }
        return Broker.single(ps, rs -> rs.getInt(1));
      }
    });
  }

  private List<DeadLetter> select(String sqlTemplate, Long id) {
    String sql = String.format(sqlTemplate, broker.schema());
    return Sql.run(broker.dataSource(), "list dead letters of queue " + queue, c -> {
      try (PreparedStatement queueCheck = c.prepareStatement(
          "select 1 from " + broker.schema() + "._find_queue(?)")) {
        queueCheck.setString(1, queue); // raises for an unknown queue
        queueCheck.execute();
      }
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        ps.setString(1, queue); // queue name
        if (id != null) {
          ps.setObject(2, id, Types.BIGINT); // dead letter id
        }
        List<DeadLetter> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(broker.rows().deadLetter(rs));
          }
        }
        return out;
      }
    });
  }
}
