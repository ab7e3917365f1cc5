package dev.pgbroker;

import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One queue's part of a {@link Worker}: a fetch loop that keeps a small buffer of leased messages
 * ahead of the handlers, the handler slots that drain it, settlement, and the heartbeat that keeps
 * the leases of buffered and running messages alive.
 *
 * <p>The buffer holds units ({@link Run}s): one message without an ordering key, or a run of one
 * key's messages leased together, which one slot handles in id order. Each read names the runs
 * still open, and the key's messages that come next grow them instead of waiting behind them. A run
 * member that fails and will be retried gives the rest of its run back, so nothing of its key
 * overtakes it.
 *
 * <p>The buffer holds about {@link HandlingRate#PREFETCH_NANOS} of work at the rate handlers have
 * been finishing (one statement per batch is what makes throughput). Failures are recorded by the
 * {@link FailureRecorder}.
 *
 * <p>A slot of an {@link Worker.AsyncHandler} holds no thread while its delivery's stage is
 * pending: the stage's completion settles the delivery and moves the slot on, in the queue's {@link
 * SerialLane}.
 */
final class QueueRunner {
  private static final Logger log = LoggerFactory.getLogger(QueueRunner.class);

  /** Most messages one fetch leases. */
  static final int MAX_FETCH = 500;

  /** Longest an ack that frees nothing waits for company (see {@link AckBuffer}). */
  private static final long UNHURRIED_ACK_NANOS = 100_000_000;

  /** How one delivery ended. */
  private enum Outcome {
    DONE,
    RETRY,
    LOST
  }

  /** Exactly one of the three is set. */
  record Handling(
      Worker.Handler plain, Worker.TransactionalHandler transactional, Worker.AsyncHandler async) {}

  private final MessageSql messages;
  private final FailureRecorder failures;
  private final String queue;
  private final Handling handling;
  private final int concurrency;
  private final Duration visibility;

  /**
   * How long the ack of a run member whose run goes on may wait. The heartbeat extends held leases
   * every third of the visibility timeout, so a delivery it no longer holds has two thirds left.
   */
  private final long unhurriedAckNanos;

  private final Duration pollInterval;
  private final WorkerListener listener;
  private final AckBuffer acks;
  private final ExecutorService handlerThreads;
  private final ScheduledExecutorService heartbeats;

  /** Handler slots running: each drains the buffer, then ends. Guarded by itself for waits. */
  private final AtomicInteger inFlight = new AtomicInteger();

  /** Where async slots continue once their stages completed: one handler thread at a time. */
  private final SerialLane continuations;

  /**
   * Where slots start: a thread each for blocking handlers; for async ones the lane their
   * continuations run in, since a start only publishes and returns. (Started a thread each, a
   * relay's fetch of 500 started hundreds of threads that queued on the sink's lock.)
   */
  private final Executor slotStarter;

  /** Leased units, not yet started. */
  private final Queue<Run> buffer = new ConcurrentLinkedQueue<>();

  /** Messages in the buffer, as their reads leased them (not counting what grew them since). */
  private final AtomicInteger buffered = new AtomicInteger();

  /** Runs of ordering keys, buffered or running, that have not ended: reads may grow them. */
  private final Map<UUID, Run> openRuns = new ConcurrentHashMap<>();

  /**
   * Deliveries buffered or running, by id, for the heartbeat. Entries are removed and tested as
   * this very delivery: once a failed delivery's retry is due, the next fetch may hold the same id
   * again before the failed one's bookkeeping ends (a retry that found itself removed was never
   * run, and waited out its lease).
   */
  private final Map<Long, Delivery> held = new ConcurrentHashMap<>();

  private final AtomicLong finished = new AtomicLong();
  private final HandlingRate rate = new HandlingRate(MAX_FETCH);
  private final Loop fetcher;
  private volatile boolean stopped;

  /**
   * The last read found nothing to lease. Room that frees up then is no reason to read again: what
   * can make a message deliverable is a send or a freed key (both {@link #wake()}), a retry of our
   * own (likewise), or a due time, which the fetcher sleeps to. Without this, as a burst ended
   * every slot that ended sent a read and a due-time query that found nothing (40 messages in 40
   * slots, one ending every 10 ms: 37-43 reads instead of 3).
   */
  private volatile boolean drained;

  /** Reads in a row that came back empty while a message was due; the fetcher's own. */
  private int emptyWhileDue;

  QueueRunner(
      MessageSql messages,
      DeadLetterSql deadLetters,
      String queue,
      Handling handling,
      Worker.DeadLetterHook deadLetterHook,
      int concurrency,
      Duration visibility,
      Duration pollInterval,
      WorkerListener listener,
      AckBuffer acks,
      ExecutorService handlerThreads,
      ScheduledExecutorService heartbeats) {
    this.messages = messages;
    this.queue = queue;
    this.handling = handling;
    this.failures = new FailureRecorder(messages, deadLetters, queue, deadLetterHook);
    this.concurrency = concurrency;
    this.visibility = visibility;
    this.unhurriedAckNanos = Math.min(UNHURRIED_ACK_NANOS, visibility.toNanos() / 4);
    this.pollInterval = pollInterval;
    this.listener = listener;
    this.acks = acks;
    this.handlerThreads = handlerThreads;
    this.heartbeats = heartbeats;
    this.continuations = new SerialLane(handlerThreads);
    this.slotStarter = handling.async() != null ? continuations : handlerThreads;
    this.fetcher =
        new Loop(
            "pgbroker-fetch-" + queue,
            this::fetch,
            e -> listener.databaseError("fetch from " + queue, e));
  }

  String queue() {
    return queue;
  }

  int inFlight() {
    return inFlight.get();
  }

  /**
   * Waits until no slot runs, or until {@code deadlineNanos} ({@link System#nanoTime()}); true if
   * none does. For async slots, which no handler thread holds while their stage is pending.
   */
  boolean awaitIdle(long deadlineNanos) throws InterruptedException {
    synchronized (inFlight) {
      while (inFlight.get() > 0) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(inFlight, left);
      }
      return true;
    }
  }

  private void endSlot() {
    if (inFlight.decrementAndGet() == 0) {
      synchronized (inFlight) {
        inFlight.notifyAll();
      }
    }
    if (buffered.get() > 0 || !drained) {
      fetcher.wake(); // a buffered message may have arrived after this slot found the buffer empty
    }
  }

  void start() {
    fetcher.start();
    long beat = Math.max(visibility.toMillis() / 3, 10);
    heartbeats.scheduleWithFixedDelay(this::heartbeat, beat, beat, TimeUnit.MILLISECONDS);
  }

  /** Something changed in the queue (a send, a freed key, a retry): fetch again now. */
  void wake() {
    drained = false;
    fetcher.wake();
  }

  /** Stops fetching and gives back the leases of buffered messages no handler has started. */
  void stop() {
    stopped = true;
    fetcher.stop(Duration.ofSeconds(5));
    List<Delivery> unstarted = new ArrayList<>();
    for (Run unit; (unit = take()) != null; ) {
      unstarted.addAll(unit.fail(-1));
    }
    release(unstarted);
  }

  /** One turn of the fetch loop: fetch if there is room, else wait to be woken. */
  private void fetch() {
    startSlots();
    int prefetch = rate.update(finished.get());
    int waiting = buffered.get();
    int room = concurrency + prefetch - inFlight.get() - waiting;
    if (room <= 0 || waiting > prefetch / 2) {
      fetcher.await(pollInterval.toMillis()); // a finishing slot wakes us when the buffer runs low
      return;
    }
    int max = Math.min(room, MAX_FETCH);
    // The lease length the heartbeat was set up for, even if the queue's setting changed. A run
    // of one key is one slot's work in order, which no other instance could share: it may grow
    // beyond the room the prefetch allows, while fewer than a fetch's worth of it wait (beyond
    // that, the key's next messages wait parked, and memory stays bounded).
    Map<UUID, Run> open = new HashMap<>();
    openRuns.forEach(
        (lease, run) -> {
          if (run.waiting() < MAX_FETCH) {
            open.put(lease, run);
          }
        });
    List<Delivery> batch =
        messages.read(queue, max, visibility.toMillis(), MAX_FETCH, open.keySet());
    drained = batch.isEmpty(); // a wake() meanwhile has also woken the loop: it reads again
    long sleepMs = batch.isEmpty() ? untilDue() : 0;
    if (stopped) {
      release(batch); // stop() has already given back the buffer; this batch came too late
      return;
    }
    for (List<Delivery> unit : units(batch)) {
      unit.forEach(d -> held.put(d.id(), d));
      Run grown = open.get(unit.get(0).lease());
      if (grown != null && grown.grow(unit)) {
        continue;
      }
      if (grown != null && grown.failed()) {
        release(unit); // behind a member that will be retried, or a lease this worker lost
        continue;
      }
      Run run = new Run(unit);
      if (unit.get(0).orderingKey() != null) {
        openRuns.put(run.lease(), run);
      }
      buffer.add(run);
      buffered.addAndGet(unit.size());
    }
    if (sleepMs > 0) {
      startSlots();
      fetcher.await(sleepMs);
    }
  }

  /** Splits a fetch into units: each keyed run in id order, each unkeyed message alone. */
  static List<List<Delivery>> units(List<Delivery> batch) {
    Map<UUID, List<Delivery>> runs = new LinkedHashMap<>();
    List<List<Delivery>> units = new ArrayList<>();
    for (Delivery d : batch) {
      if (d.orderingKey() == null) {
        units.add(List.of(d));
      } else {
        runs.computeIfAbsent(
                d.lease(),
                l -> {
                  List<Delivery> run = new ArrayList<>();
                  units.add(run);
                  return run;
                })
            .add(d);
      }
    }
    runs.values().forEach(run -> run.sort(Comparator.comparingLong(Delivery::id)));
    return units;
  }

  /**
   * Starts handler slots while messages wait and the concurrency limit allows. A slot just started
   * may not have taken its message yet, so this can start one or two more than needed; those find
   * the buffer empty and end at once. (Starting exactly one per buffered message measured a quarter
   * slower: the fetcher then stops dispatching while slots turn over.)
   */
  private void startSlots() {
    while (buffered.get() > 0) {
      int running = inFlight.get();
      if (running >= concurrency) {
        return;
      }
      if (inFlight.compareAndSet(running, running + 1)) {
        try {
          slotStarter.execute(this::slot);
        } catch (RejectedExecutionException closing) {
          inFlight.decrementAndGet();
          return;
        }
      }
    }
  }

  /** Runs buffered units one after another until the buffer is empty or the worker stops. */
  private void slot() {
    if (handling.async() != null) {
      nextAsync();
      return;
    }
    try {
      for (Run unit; !stopped && (unit = take()) != null; ) {
        runUnit(unit);
        fetchIfLow();
      }
    } finally {
      endSlot();
    }
  }

  /**
   * Wakes the fetcher once the buffer is down to half the prefetch, unless the queue is drained.
   */
  private void fetchIfLow() {
    if (buffered.get() <= rate.prefetch() / 2 && !drained) {
      fetcher.wake();
    }
  }

  /** An async slot takes units until one waits on a pending stage, or ends when there is none. */
  private void nextAsync() {
    while (true) {
      Run unit = stopped ? null : take();
      if (unit == null) {
        endSlot();
        return;
      }
      fetchIfLow();
      if (!runAsync(unit, 0)) {
        return; // the stage's completion carries the slot on
      }
    }
  }

  /**
   * Runs the unit from its delivery {@code i}: stages already complete are settled on this thread
   * (a loop, not a recursion, so a long run of instant ones cannot overflow the stack); at a
   * pending one it returns false and the stage's completion continues in the queue's lane. True
   * once the unit ended.
   */
  private boolean runAsync(Run unit, int i) {
    for (; ; i++) {
      Delivery d = unit.get(i);
      if (held.get(d.id()) != d) {
        continueUnit(unit, i, Outcome.LOST);
        return true;
      }
      long start = System.nanoTime();
      CompletableFuture<Object> done = new CompletableFuture<>();
      try {
        listener.delivered(d);
        CompletionStage<?> stage = handling.async().handle(d);
        if (stage == null) {
          throw new NullPointerException(
              "the async handler of queue " + queue + " returned null, not a CompletionStage");
        }
        stage.whenComplete((x, e) -> settleWith(done, e));
      } catch (Exception | LinkageError | AssertionError e) {
        done.completeExceptionally(e);
      }
      if (!done.isDone()) {
        int at = i;
        done.whenCompleteAsync(
            (x, e) -> afterAsync(unit, at, settle(d, e, start, unit.goesOn(at))), continuations);
        return false;
      }
      Outcome outcome = settle(d, done.handle((x, e) -> e).join(), start, unit.goesOn(i));
      if (!continueUnit(unit, i, outcome)) {
        return true;
      }
    }
  }

  private static void settleWith(CompletableFuture<Object> done, Throwable e) {
    if (e == null) {
      done.complete(null);
    } else {
      done.completeExceptionally(e);
    }
  }

  private void afterAsync(Run unit, int i, Outcome outcome) {
    if (continueUnit(unit, i, outcome) && !runAsync(unit, i + 1)) {
      return; // waits on the next stage
    }
    nextAsync();
  }

  /**
   * Acks a delivery that succeeded. One that frees nothing may wait for company: a run member whose
   * run goes on (its key stays leased to the run), or a message without a key while others are
   * buffered or running, whose acks will carry it. (A relay to RabbitMQ without keys sent 8 times
   * fewer ack statements so, and spent a fifth less of PostgreSQL's time in them.)
   */
  private void ack(Delivery d, boolean runGoesOn) {
    held.remove(d.id(), d);
    boolean othersFollow = d.orderingKey() == null && (buffered.get() > 0 || inFlight.get() > 1);
    acks.add(d, (runGoesOn || othersFollow) && !stopped ? unhurriedAckNanos : 0);
  }

  /** Acks or fails one async delivery by how its stage completed. */
  private Outcome settle(Delivery d, Throwable failure, long startNanos, boolean runGoesOn) {
    Duration took = Duration.ofNanos(System.nanoTime() - startNanos);
    try {
      if (failure == null) {
        ack(d, runGoesOn);
        listener.succeeded(d, took);
        return Outcome.DONE;
      }
      Throwable cause =
          failure instanceof CompletionException && failure.getCause() != null
              ? failure.getCause()
              : failure;
      return fail(d, cause, took);
    } finally {
      held.remove(d.id(), d);
    }
  }

  /**
   * Whether the unit goes on after its delivery {@code i} ended with {@code outcome}; if not, the
   * rest of it is given back (or dropped with a lost lease).
   */
  private boolean continueUnit(Run unit, int i, Outcome outcome) {
    finished.incrementAndGet();
    if (outcome == Outcome.DONE && !stopped && unit.next(i)) {
      return true;
    }
    List<Delivery> rest = outcome == Outcome.DONE && !stopped ? List.of() : unit.fail(i);
    openRuns.remove(unit.lease(), unit);
    if (outcome == Outcome.LOST) {
      rest.forEach(r -> held.remove(r.id(), r)); // one lease: lost for all of the run
    } else {
      release(rest);
    }
    return false;
  }

  /** Runs a unit's deliveries in order; after one that will be retried, gives back the rest. */
  private void runUnit(Run unit) {
    for (int i = 0; ; i++) {
      Delivery d = unit.get(i);
      Outcome outcome = held.get(d.id()) == d ? run(d, unit.goesOn(i)) : Outcome.LOST;
      if (!continueUnit(unit, i, outcome)) {
        return;
      }
    }
  }

  private Run take() {
    Run unit = buffer.poll();
    if (unit != null) {
      buffered.addAndGet(-unit.leasedFirst());
    }
    return unit;
  }

  /** How long an idle fetcher may sleep: the poll interval, or less if a message is due sooner. */
  private long untilDue() {
    Long due = messages.nextDueMs(queue);
    if (due == null) {
      return pollInterval.toMillis();
    }
    if (due > 0) {
      emptyWhileDue = 0;
      return Math.min(due, pollInterval.toMillis());
    }
    // Due now, yet the read got none: another reader holds them for a moment (or a key of
    // theirs). Look again soon, backing off in case that reader is a long transaction.
    emptyWhileDue = Math.min(emptyWhileDue + 1, 12);
    return Math.min(1L << (emptyWhileDue - 1), pollInterval.toMillis());
  }

  private Outcome run(Delivery d, boolean runGoesOn) {
    long start = System.nanoTime();
    try {
      listener.delivered(d);
      if (handling.plain() != null) {
        handling.plain().handle(d);
        ack(d, runGoesOn);
      } else if (!runInTransaction(d)) {
        listener.leaseLost(d);
        return Outcome.LOST;
      }
      listener.succeeded(d, Duration.ofNanos(System.nanoTime() - start));
      return Outcome.DONE;
    } catch (Exception | LinkageError | AssertionError e) {
      return fail(d, e, Duration.ofNanos(System.nanoTime() - start));
    } finally {
      held.remove(d.id(), d);
    }
  }

  /** Returns false, having rolled the handler's writes back, if the lease was stale at the ack. */
  private boolean runInTransaction(Delivery d) throws Exception {
    try (Connection c = messages.dataSource().getConnection()) {
      c.setAutoCommit(false);
      try {
        handling.transactional().handle(c, d);
        if (!messages.ack(c, List.of(d)).stale().isEmpty()) {
          c.rollback();
          return false;
        }
        c.commit();
        return true;
      } catch (Exception | Error e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(true);
      }
    }
  }

  private Outcome fail(Delivery d, Throwable e, Duration took) {
    try {
      FailureRecorder.Result r = failures.record(d, e);
      if (r == FailureRecorder.Result.LOST) {
        listener.leaseLost(d);
        return Outcome.LOST;
      }
      listener.failed(d, e, took, r == FailureRecorder.Result.RETRY);
      if (r == FailureRecorder.Result.DEAD) {
        listener.deadLettered(d, FailureRecorder.describe(e));
      }
      if (r != FailureRecorder.Result.RETRY) {
        return Outcome.DONE;
      }
      wake(); // to learn when the retry is due
      return Outcome.RETRY;
    } catch (RuntimeException db) {
      // The lease runs out and the message is redelivered: at-least-once still holds.
      listener.databaseError("nack in " + queue, db);
      log.warn(
          "pgbroker: could not record the failure of message {} in queue {}: {}",
          d.id(),
          queue,
          db.getMessage());
      return Outcome.LOST;
    }
  }

  private void release(List<Delivery> unstarted) {
    unstarted.forEach(d -> held.remove(d.id(), d));
    if (unstarted.isEmpty()) {
      return;
    }
    try {
      messages.run("release", c -> messages.release(c, unstarted));
      wake(); // they are deliverable again
    } catch (RuntimeException e) {
      log.debug(
          "pgbroker: could not release {} unstarted messages; their leases will run out",
          unstarted.size(),
          e);
    }
  }

  /** Extends the leases of buffered and running messages, each by one visibility timeout. */
  private void heartbeat() {
    if (held.isEmpty()) {
      return;
    }
    try {
      List<Delivery> all = List.copyOf(held.values());
      MessageSql.Settled s =
          messages.run("extend", c -> messages.extend(c, all, visibility.toMillis()));
      for (Delivery lost : s.stale()) {
        if (held.remove(lost.id(), lost)) {
          listener.leaseLost(lost);
        }
      }
    } catch (RuntimeException e) {
      listener.databaseError("lease heartbeat in " + queue, e);
    }
  }
}
