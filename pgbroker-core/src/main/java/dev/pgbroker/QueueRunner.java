package dev.pgbroker;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One queue's part of a {@link Worker}: a fetch loop that keeps a small buffer of leased
 * messages ahead of the handlers, the handler slots that drain it, settlement, and the heartbeat
 * that keeps the leases of buffered and running messages alive.
 *
 * <p>The buffer holds about {@link #PREFETCH_NANOS} of work at the rate handlers have been
 * finishing: enough that fetches come in large batches when handlers are quick (one statement
 * per batch is what makes throughput), and next to nothing when they are slow, so that an
 * instance does not sit on messages other instances could be running.
 */
final class QueueRunner {
  private static final Logger log = LoggerFactory.getLogger(QueueRunner.class);
  /** Most messages one fetch leases. */
  static final int MAX_FETCH = 500;
  /** How much work, at the recent handling rate, the buffer holds ahead of the handlers. */
  private static final long PREFETCH_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  private static final int MAX_ERROR_CHARS = 4000;

  /** Exactly one of the two is set. */
  record Handling(Worker.Handler plain, Worker.TransactionalHandler transactional) {}

  private final Broker broker;
  private final String queue;
  private final Handling handling;
  private final int concurrency;
  private final Duration visibility;
  private final Duration pollInterval;
  private final WorkerListener listener;
  private final AckBuffer acks;
  private final ExecutorService handlerThreads;
  private final ScheduledExecutorService timers;
  /** Handler slots running: each drains the buffer, then ends. */
  private final AtomicInteger inFlight = new AtomicInteger();
  /** Leased, not yet started. */
  private final Queue<Delivery> buffer = new ConcurrentLinkedQueue<>();
  private final AtomicInteger buffered = new AtomicInteger();
  /** Deliveries buffered or running, by lease, for the heartbeat. */
  private final Map<UUID, Delivery> held = new ConcurrentHashMap<>();
  private final AtomicLong finished = new AtomicLong();
  private final HandlingRate rate = new HandlingRate();
  private final Object signal = new Object();
  /** Set by {@link #wake()}; the fetcher clears it before it looks at the buffer. */
  private volatile boolean woken;
  private volatile boolean stopped;
  private Thread fetcher;

  QueueRunner(Broker broker, String queue, Handling handling, int concurrency, Duration visibility,
      Duration pollInterval, WorkerListener listener, AckBuffer acks,
      ExecutorService handlerThreads, ScheduledExecutorService timers) {
    this.broker = broker;
    this.queue = queue;
    this.handling = handling;
    this.concurrency = concurrency;
    this.visibility = visibility;
    this.pollInterval = pollInterval;
    this.listener = listener;
    this.acks = acks;
    this.handlerThreads = handlerThreads;
    this.timers = timers;
  }

  String queue() {
    return queue;
  }

  int inFlight() {
    return inFlight.get();
  }

  void start() {
    fetcher = new Thread(this::fetchLoop, "pgbroker-fetch-" + queue);
    fetcher.setDaemon(true);
    fetcher.start();
    long beat = Math.max(visibility.toMillis() / 3, 10);
    timers.scheduleWithFixedDelay(this::heartbeat, beat, beat, TimeUnit.MILLISECONDS);
  }

  /** Something changed (a notification, or capacity freed): fetch again now. */
  void wake() {
    if (woken) {
      return; // the fetcher has not looked yet, and will see this change when it does
    }
    synchronized (signal) {
      woken = true;
      signal.notifyAll();
    }
  }

  /** Stops fetching and gives back the leases of buffered messages no handler has started. */
  void stop() {
    stopped = true;
    wake();
    try {
      fetcher.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    List<Delivery> unstarted = new ArrayList<>();
    for (Delivery d; (d = take()) != null; ) {
      unstarted.add(d);
    }
    release(unstarted);
  }

  private void fetchLoop() {
    long backoffMs = 0;
    while (!stopped) {
      woken = false;
      startSlots();
      int prefetch = rate.update(finished.get());
      int waiting = buffered.get();
      int room = concurrency + prefetch - inFlight.get() - waiting;
      if (room <= 0 || waiting > prefetch / 2) {
        await(pollInterval.toMillis()); // a finishing slot wakes us when the buffer runs low
        continue;
      }
      List<Delivery> batch;
      long sleepMs;
      try {
        // The lease length the heartbeat was set up for, even if the queue's setting changed.
        batch = broker.receive(queue, Math.min(room, MAX_FETCH), visibility);
        sleepMs = batch.isEmpty() ? untilDue() : 0;
        backoffMs = 0;
      } catch (RuntimeException e) {
        listener.databaseError("fetch from " + queue, e);
        backoffMs = Math.min(Math.max(backoffMs * 2, 100), 5_000);
        log.warn("pgbroker: fetching from queue {} failed, retrying in {} ms: {}", queue, backoffMs, e.getMessage());
        await(backoffMs);
        continue;
      }
      if (stopped) {
        release(batch); // stop() has already given back the buffer; this batch came too late
        break;
      }
      for (Delivery d : batch) {
        held.put(d.lease(), d);
        buffer.add(d);
        buffered.incrementAndGet();
      }
      if (sleepMs > 0) {
        startSlots();
        await(sleepMs);
      }
    }
  }

  /**
   * Starts handler slots while messages wait and the concurrency limit allows. A slot just
   * started may not have taken its message yet, so this can start one or two more than needed;
   * those find the buffer empty and end at once. (Starting exactly one per buffered message
   * measured a quarter slower: the fetcher then stops dispatching while slots turn over.)
   */
  private void startSlots() {
    while (buffered.get() > 0) {
      int running = inFlight.get();
      if (running >= concurrency) {
        return;
      }
      if (inFlight.compareAndSet(running, running + 1)) {
        try {
          handlerThreads.execute(this::slot);
        } catch (RejectedExecutionException closing) {
          inFlight.decrementAndGet();
          return;
        }
      }
    }
  }

  /** Runs buffered messages one after another until the buffer is empty or the worker stops. */
  private void slot() {
    try {
      for (Delivery d; !stopped && (d = take()) != null; ) {
        if (!held.containsKey(d.lease())) {
          continue; // the heartbeat found its lease gone while it waited: someone else has it
        }
        run(d);
        finished.incrementAndGet();
        if (buffered.get() <= rate.prefetch() / 2) {
          wake(); // time to fetch more
        }
      }
    } finally {
      inFlight.decrementAndGet();
      wake(); // a buffered message may have arrived after this slot found the buffer empty
    }
  }

  private Delivery take() {
    Delivery d = buffer.poll();
    if (d != null) {
      buffered.decrementAndGet();
    }
    return d;
  }

  /** How long an idle fetcher may sleep: the poll interval, or less if a message is due sooner. */
  private long untilDue() {
    Long due = broker.nextDueMs(queue);
    return due == null ? pollInterval.toMillis() : Math.max(1, Math.min(due, pollInterval.toMillis()));
  }

  private void await(long ms) {
    synchronized (signal) {
      long end = System.currentTimeMillis() + ms;
      while (!woken && !stopped) {
        long left = end - System.currentTimeMillis();
        if (left <= 0) {
          break;
        }
        try {
          signal.wait(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  private void run(Delivery d) {
    long start = System.nanoTime();
    try {
      listener.delivered(d);
      if (handling.plain() != null) {
        handling.plain().handle(d);
        held.remove(d.lease());
        acks.add(d);
      } else {
        runInTransaction(d);
      }
      listener.succeeded(d, Duration.ofNanos(System.nanoTime() - start));
    } catch (StaleLeaseException e) {
      listener.leaseLost(d);
    } catch (Exception | LinkageError | AssertionError e) {
      fail(d, e, Duration.ofNanos(System.nanoTime() - start));
    } finally {
      held.remove(d.lease());
    }
  }

  private void runInTransaction(Delivery d) throws Exception {
    try (Connection c = broker.dataSource().getConnection()) {
      c.setAutoCommit(false);
      try {
        handling.transactional().handle(c, d);
        broker.ack(c, d);
        c.commit();
      } catch (Exception | Error e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(true);
      }
    }
  }

  private void fail(Delivery d, Throwable e, Duration took) {
    String error = describe(e);
    try {
      if (e instanceof PoisonMessageException) {
        broker.deadLetter(d, error);
        listener.failed(d, e, took, false);
        listener.deadLettered(d, error);
        return;
      }
      Duration delay = e instanceof RetryLaterException r ? r.delay() : null;
      boolean retry = broker.nack(d, error, delay);
      listener.failed(d, e, took, retry);
      if (!retry) {
        listener.deadLettered(d, error);
      }
    } catch (StaleLeaseException lost) {
      listener.leaseLost(d);
    } catch (RuntimeException db) {
      // The lease runs out and the message is redelivered: at-least-once still holds.
      listener.databaseError("nack in " + queue, db);
      log.warn("pgbroker: could not record the failure of message {} in queue {}: {}", d.id(), queue, db.getMessage());
    }
  }

  private void release(List<Delivery> unstarted) {
    unstarted.forEach(d -> held.remove(d.lease()));
    if (unstarted.isEmpty()) {
      return;
    }
    try {
      broker.settle(unstarted, Settlement.RELEASE, null, null);
    } catch (RuntimeException e) {
      log.debug("pgbroker: could not release {} unstarted messages; their leases will run out", unstarted.size(), e);
    }
  }

  /** Extends the leases of buffered and running messages, each by one visibility timeout. */
  private void heartbeat() {
    if (held.isEmpty()) {
      return;
    }
    try {
      Settlement.Result s = broker.settle(List.copyOf(held.values()), Settlement.EXTEND, visibility.toMillis(), null);
      for (Delivery lost : s.stale()) {
        if (held.remove(lost.lease()) != null) {
          listener.leaseLost(lost);
        }
      }
    } catch (RuntimeException e) {
      listener.databaseError("lease heartbeat in " + queue, e);
    }
  }

  /** How fast handlers have been finishing, as the number of messages worth buffering. */
  private static final class HandlingRate {
    private static final long WINDOW_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private long lastCount;
    private long lastNanos = System.nanoTime();
    private double perSecond;
    private volatile int prefetch = 1;

    /** Called by the fetcher only. */
    int update(long finishedTotal) {
      long now = System.nanoTime();
      if (now - lastNanos >= WINDOW_NANOS) {
        double recent = (finishedTotal - lastCount) * 1e9 / (now - lastNanos);
        perSecond = (perSecond + recent) / 2; // smooths bursts; an idle queue decays to zero
        lastCount = finishedTotal;
        lastNanos = now;
        prefetch = (int) Math.max(1, Math.min(MAX_FETCH, perSecond * PREFETCH_NANOS / 1e9));
      }
      return prefetch;
    }

    int prefetch() {
      return prefetch;
    }
  }

  /** The error text kept in the message's history: the exception and the top of its stack. */
  static String describe(Throwable e) {
    if (e instanceof PoisonMessageException || e instanceof RetryLaterException) {
      return String.valueOf(e.getMessage());
    }
    StringWriter out = new StringWriter();
    e.printStackTrace(new PrintWriter(out));
    String text = out.toString();
    return text.length() <= MAX_ERROR_CHARS ? text : text.substring(0, MAX_ERROR_CHARS) + "...";
  }
}
