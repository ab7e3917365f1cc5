package dev.pgbroker;

import java.util.List;
import java.util.Optional;

/**
 * One queue's dead letters: messages that used up their attempts, with every attempt's error.
 * Replay puts a message back with the same id, its error history and its own retry policy, and a
 * fresh budget of attempts; the attempts it made before stay counted in {@code priorAttempts}. Safe
 * to share between threads.
 */
public final class DeadLetterStore {
  /** Most dead letters one {@link #list} call returns. */
  public static final int MAX_LIST = Checks.MAX_LIST;

  private final DeadLetterSql sql;
  private final String queue;

  DeadLetterStore(DeadLetterSql sql, String queue) {
    this.sql = sql;
    this.queue = queue;
  }

  /** The oldest dead letters first, at most {@code limit}. */
  public List<DeadLetter> list(int limit) {
    return sql.list(queue, null, Checks.listLimit(limit));
  }

  public Optional<DeadLetter> find(long id) {
    return sql.list(queue, id, 1).stream().findFirst();
  }

  /** Replays one dead letter; false if there is none with that id. */
  public boolean replay(long id) {
    return sql.replay(queue, new Long[] {id}, null) == 1;
  }

  /** Replays the dead letters any of whose errors contains {@code text}; returns how many. */
  public int replayWhereErrorContains(String text) {
    if (text == null || text.isEmpty()) {
      throw new IllegalArgumentException("text to match must not be empty; use replayAll()");
    }
    return sql.replay(queue, null, text);
  }

  /** Replays every dead letter of the queue; returns how many. */
  public int replayAll() {
    return sql.replay(queue, null, null);
  }

  /** Deletes one dead letter for good; false if there is none with that id. */
  public boolean purge(long id) {
    return sql.purge(queue, new Long[] {id}) == 1;
  }

  /** Deletes every dead letter of the queue; returns how many. */
  public int purgeAll() {
    return sql.purge(queue, null);
  }
}
