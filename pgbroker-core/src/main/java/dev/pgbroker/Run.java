package dev.pgbroker;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * A unit of a worker's work: one message without an ordering key, or a run of one key's messages
 * under one lease, which one slot handles in id order. Until the slot is through with it, a later
 * read may grow a run by its key's next messages, leased under the run's token. Once the run ended
 * well, what such a read brings starts a new run; once it failed (a member will be retried, its
 * lease was lost, or the worker stops), what it brings goes back, so nothing overtakes the failed
 * member. Safe to share between threads.
 */
final class Run {
  private final List<Delivery> members; // guarded by this
  private final int leasedFirst;
  private int handedOut; // guarded by this
  private boolean ended; // guarded by this
  private boolean failed; // guarded by this

  /** Members in id order, as one read leased them. */
  Run(List<Delivery> members) {
    this.members = new ArrayList<>(members);
    this.leasedFirst = members.size();
  }

  /** The lease all members share. */
  UUID lease() {
    return members.get(0).lease();
  }

  /** How many members the read that leased the run brought. */
  int leasedFirst() {
    return leasedFirst;
  }

  /** Member {@code i}, handed to its handler now. */
  synchronized Delivery get(int i) {
    handedOut = Math.max(handedOut, i + 1);
    return members.get(i);
  }

  /** Members not yet handed to the handler. */
  synchronized int waiting() {
    return members.size() - handedOut;
  }

  /** Whether a member follows member {@code i}, as far as known now. */
  synchronized boolean goesOn(int i) {
    return i + 1 < members.size();
  }

  /** Adds the key's next messages; false if the run ended meanwhile (see {@link #failed()}). */
  synchronized boolean grow(List<Delivery> next) {
    if (ended) {
      return false;
    }
    members.addAll(next);
    return true;
  }

  /** After member {@code i} succeeded: true if another follows, else the run ends well. */
  synchronized boolean next(int i) {
    if (i + 1 < members.size()) {
      return true;
    }
    ended = true;
    return false;
  }

  /** Ends the run after member {@code i} ({@code -1}: before the first); returns those after it. */
  synchronized List<Delivery> fail(int i) {
    ended = true;
    failed = true;
    return new ArrayList<>(members.subList(i + 1, members.size()));
  }

  /** Whether the run ended by {@link #fail}; final once {@link #grow} returned false. */
  synchronized boolean failed() {
    return failed;
  }
}
