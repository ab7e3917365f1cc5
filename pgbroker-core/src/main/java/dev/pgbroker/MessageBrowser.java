package dev.pgbroker;

import java.util.List;
import java.util.Optional;

/**
 * Lists one queue's live messages ({@link Broker#messages}) or archived ones ({@link
 * Broker#archive}), oldest first, with every attempt's error. Reads only. Safe to share between
 * threads.
 */
public final class MessageBrowser<T> {
  /** Most messages one {@link #list} call returns. */
  public static final int MAX_LIST = Checks.MAX_LIST;

  /** A statement listing the queue's rows: only {@code id}'s when it is not null. */
  @FunctionalInterface
  interface Lister<T> {
    List<T> list(String queue, Long id, int limit);
  }

  private final Lister<T> lister;
  private final String queue;

  MessageBrowser(Lister<T> lister, String queue) {
    this.lister = lister;
    this.queue = queue;
  }

  /** The oldest (lowest id) first, at most {@code limit}. */
  public List<T> list(int limit) {
    return lister.list(queue, null, Checks.listLimit(limit));
  }

  public Optional<T> find(long id) {
    return lister.list(queue, id, 1).stream().findFirst();
  }
}
