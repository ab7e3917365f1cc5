package dev.pgbroker;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records that a handler failed: a retry after the backoff (or a {@link RetryLaterException}'s
 * delay), or a move to the dead-letter store after the last attempt or for a {@link
 * PoisonMessageException}, with the queue's dead-letter hook run in the moving transaction. The
 * history entry is short to read; the full stack trace is kept beside it.
 */
final class FailureRecorder {
  private static final Logger log = LoggerFactory.getLogger(FailureRecorder.class);

  /** Stack frames in the short error text of a failed handler; the trace keeps them all. */
  static final int TOP_FRAMES = 3;

  enum Result {
    RETRY,
    DEAD,
    /** The lease was stale: someone else holds the message now. */
    LOST
  }

  private final MessageSql messages;
  private final DeadLetterSql deadLetters;
  private final String queue;
  private final Worker.DeadLetterHook hook; // may be null

  FailureRecorder(
      MessageSql messages, DeadLetterSql deadLetters, String queue, Worker.DeadLetterHook hook) {
    this.messages = messages;
    this.deadLetters = deadLetters;
    this.queue = queue;
    this.hook = hook;
  }

  /** Throws the database's error if the failure could not be recorded. */
  Result record(Delivery d, Throwable e) {
    String error = describe(e);
    String trace = trace(e);
    List<Delivery> one = List.of(d);
    boolean poison = e instanceof PoisonMessageException;
    Duration delay = e instanceof RetryLaterException r ? r.delay() : null;
    Long delayMs = delay == null ? null : delay.toMillis();
    Sql.Work<MessageSql.Settled> settle =
        c ->
            poison
                ? messages.deadLetter(c, one, error, trace)
                : messages.nack(c, one, delayMs, error, trace);
    MessageSql.Settled s =
        hook == null
            ? messages.run(poison ? "dead-letter" : "nack", settle)
            : settleWithHook(d, settle, delayMs, error, trace);
    if (!s.stale().isEmpty()) {
      return Result.LOST;
    }
    return s.dead().isEmpty() ? Result.RETRY : Result.DEAD;
  }

  /**
   * Settles a failure in a transaction that also runs the dead-letter hook when the message moves
   * to the dead-letter store, so the hook's writes and the move commit together. A hook that throws
   * rolls both back; the message is then retried after its backoff, even after its last attempt,
   * with the hook's error in its history, so the move and the hook are tried again later.
   */
  private MessageSql.Settled settleWithHook(
      Delivery d, Sql.Work<MessageSql.Settled> settle, Long delayMs, String error, String trace) {
    Exception hookFailure;
    try (Connection c = messages.dataSource().getConnection()) {
      c.setAutoCommit(false);
      try {
        MessageSql.Settled s = settle.run(c);
        DeadLetter dead = s.dead().isEmpty() ? null : deadLetters.find(c, queue, d.id());
        hookFailure = dead == null ? null : runHook(c, dead);
        if (hookFailure == null) {
          c.commit();
          return s;
        }
        c.rollback();
      } catch (SQLException | RuntimeException | Error db) {
        c.rollback();
        throw db;
      } finally {
        c.setAutoCommit(true);
      }
    } catch (SQLException db) {
      throw Sql.translate("nack", db);
    }
    log.warn(
        "pgbroker: the dead-letter hook of queue {} failed for message {}; it stays in the queue"
            + " and is retried",
        queue,
        d.id(),
        hookFailure);
    String why = "dead-letter hook failed (" + hookFailure + "); the handler's error: " + error;
    List<Delivery> one = List.of(d);
    return messages.run("nack", c -> messages.retry(c, one, delayMs, why, trace));
  }

  /** Runs the hook on {@code tx}; returns what it threw, or null. */
  private Exception runHook(Connection tx, DeadLetter dead) {
    try {
      hook.handle(tx, dead);
      return null;
    } catch (Exception e) {
      return e;
    }
  }

  /**
   * The error kept in the message's history, short enough to read in a list: the exception's class
   * and message, its top {@link #TOP_FRAMES} stack frames, and the class and message of its root
   * cause. {@link PoisonMessageException} and {@link RetryLaterException} give only their reason.
   */
  static String describe(Throwable e) {
    if (e instanceof PoisonMessageException || e instanceof RetryLaterException) {
      return String.valueOf(e.getMessage());
    }
    StringBuilder out = new StringBuilder(e.toString());
    StackTraceElement[] frames = e.getStackTrace();
    for (int i = 0; i < Math.min(TOP_FRAMES, frames.length); i++) {
      out.append("\n\tat ").append(frames[i]);
    }
    if (frames.length > TOP_FRAMES) {
      out.append("\n\t... ").append(frames.length - TOP_FRAMES).append(" more");
    }
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    if (root != e) {
      out.append("\nroot cause: ").append(root);
    }
    return Checks.errorText(out.toString());
  }

  /** The full stack trace, kept beside the short error; null where {@link #describe} is whole. */
  static String trace(Throwable e) {
    if (e instanceof PoisonMessageException || e instanceof RetryLaterException) {
      return null;
    }
    StringWriter out = new StringWriter();
    e.printStackTrace(new PrintWriter(out));
    return Checks.errorText(out.toString());
  }
}
