package dev.pgbroker;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One queue's part of a {@link Worker}: a fetch loop that leases as many messages as there is
 * free capacity, the handler runs, their settlement, and the heartbeat that keeps running
 * handlers' leases alive.
 */
final class QueueRunner {
  private static final Logger log = LoggerFactory.getLogger(QueueRunner.class);
  /** Most messages one fetch leases, however much capacity is free. */
  static final int MAX_FETCH = 500;
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
  private final AtomicInteger inFlight = new AtomicInteger();
  /** Deliveries whose handler runs now, by lease, for the heartbeat. */
  private final Map<UUID, Delivery> running = new ConcurrentHashMap<>();
  private final Object signal = new Object();
  private boolean woken;
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
    synchronized (signal) {
      woken = true;
      signal.notifyAll();
    }
  }

  void stop() {
    stopped = true;
    wake();
    try {
      fetcher.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void fetchLoop() {
    long backoffMs = 0;
    while (!stopped) {
      int free = concurrency - inFlight.get();
      if (free <= 0) {
        await(pollInterval.toMillis());
        continue;
      }
      List<Delivery> batch;
      long sleepMs;
      try {
        batch = broker.receive(queue, Math.min(free, MAX_FETCH));
        sleepMs = batch.isEmpty() ? untilDue() : 0;
        backoffMs = 0;
      } catch (RuntimeException e) {
        listener.databaseError("fetch from " + queue, e);
        backoffMs = Math.min(Math.max(backoffMs * 2, 100), 5_000);
        log.warn("pgbroker: fetching from queue {} failed, retrying in {} ms: {}", queue, backoffMs, e.getMessage());
        await(backoffMs);
        continue;
      }
      for (Delivery d : batch) {
        dispatch(d);
      }
      if (sleepMs > 0) {
        await(sleepMs);
      }
    }
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
      woken = false;
    }
  }

  private void dispatch(Delivery d) {
    inFlight.incrementAndGet();
    try {
      handlerThreads.execute(() -> run(d));
    } catch (RejectedExecutionException closing) {
      release(d);
    }
  }

  private void run(Delivery d) {
    try {
      if (stopped) {
        release(d); // the worker is closing and this one never started
        return;
      }
      running.put(d.lease(), d);
      listener.delivered(d);
      long start = System.nanoTime();
      try {
        if (handling.plain() != null) {
          handling.plain().handle(d);
          running.remove(d.lease());
          acks.add(d);
        } else {
          runInTransaction(d);
        }
        listener.succeeded(d, Duration.ofNanos(System.nanoTime() - start));
      } catch (StaleLeaseException e) {
        listener.leaseLost(d);
      } catch (Exception | LinkageError | AssertionError e) {
        fail(d, e, Duration.ofNanos(System.nanoTime() - start));
      }
    } finally {
      running.remove(d.lease());
      if (inFlight.getAndDecrement() == concurrency) {
        wake(); // the fetcher was waiting for capacity
      }
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

  private void release(Delivery d) {
    try {
      broker.settle(List.of(d), Settlement.RELEASE, null, null);
    } catch (RuntimeException e) {
      log.debug("pgbroker: could not release message {}; its lease will run out", d.id(), e);
    }
  }

  /** Extends the leases of running handlers, each by one visibility timeout. */
  private void heartbeat() {
    if (running.isEmpty()) {
      return;
    }
    try {
      Settlement.Result s = broker.settle(List.copyOf(running.values()), Settlement.EXTEND, visibility.toMillis(), null);
      for (Delivery lost : s.stale()) {
        if (running.remove(lost.lease()) != null) {
          listener.leaseLost(lost);
        }
      }
    } catch (RuntimeException e) {
      listener.databaseError("lease heartbeat in " + queue, e);
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
