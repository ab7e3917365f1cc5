package dev.pgbroker.server;

import dev.pgbroker.Broker;
import dev.pgbroker.Delivery;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;

/**
 * Competing consumers of one queue, each on its own thread. A consumer records its batch in the
 * {@link ProcessedTable} and acknowledges it in the same transaction, so a payment's effect
 * commits exactly once. Poison payments are nacked while the simulated bug is live. Safe to
 * query from any thread.
 */
final class Consumers {
  static final int RECEIVE_BATCH = 20;
  /**
   * Pause after an empty receive. These consumers use the pull API so the competition stays
   * visible; a {@code broker.worker()} would wake on NOTIFY instead of polling.
   */
  private static final long IDLE_POLL_MS = 20;

  private final Broker broker;
  private final DataSource dataSource;
  private final ProcessedTable table;
  private final String queue;
  private final AtomicBoolean bugFixed;
  private final long workMillis;
  private final List<Thread> threads = new ArrayList<>();
  private final AtomicIntegerArray perConsumer;
  private final AtomicInteger processed = new AtomicInteger();
  /** Notified whenever {@link #processed} grows or a consumer fails. */
  private final Object progressed = new Object();
  private final AtomicInteger committedTwice = new AtomicInteger();
  private final AtomicInteger staleLeases = new AtomicInteger();
  private final Map<Long, String> processedBy = new ConcurrentHashMap<>();
  private final CompletableFuture<Long> deadLettered = new CompletableFuture<>();
  private final AtomicReference<Exception> failure = new AtomicReference<>();
  private volatile boolean running = true;

  /**
   * {@code work} is the simulated processing time per payment (a call to a payment provider,
   * say), spent before the transaction opens so that it holds no connection.
   */
  Consumers(Broker broker, DataSource dataSource, ProcessedTable table, String queue, int count,
      Duration work, AtomicBoolean bugFixed) {
    this.broker = broker;
    this.dataSource = dataSource;
    this.table = table;
    this.queue = queue;
    this.bugFixed = bugFixed;
    this.workMillis = work.toMillis();
    this.perConsumer = new AtomicIntegerArray(count);
    for (int i = 0; i < count; i++) {
      int index = i;
      Thread t = new Thread(() -> consume(index), "consumer-" + (i + 1));
      t.setDaemon(true);
      threads.add(t);
    }
  }

  void start() {
    threads.forEach(Thread::start);
  }

  /** Stops after the current batch; the demo calls it once every message is settled. */
  void stop() throws InterruptedException {
    running = false;
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(10));
    }
  }

  /** Waits until {@code target} messages are processed; false on timeout or consumer failure. */
  boolean awaitProcessed(int target, Duration limit) throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    synchronized (progressed) {
      while (processed.get() < target && failure.get() == null) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
          return false;
        }
        progressed.wait(left);
      }
    }
    return processed.get() >= target;
  }

  /** The id of the first message that went to the dead-letter store, or null on timeout. */
  Long awaitDeadLetter(Duration limit) throws InterruptedException {
    try {
      return deadLettered.get(limit.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException | ExecutionException e) {
      return null;
    }
  }

  int processed() {
    return processed.get();
  }

  int processedBy(int consumer) {
    return perConsumer.get(consumer);
  }

  int count() {
    return perConsumer.length();
  }

  /** Which consumer committed the message, or null. */
  String whoProcessed(long messageId) {
    return processedBy.get(messageId);
  }

  /** Messages whose work committed more than once in this JVM; the leases should make it 0. */
  int committedTwice() {
    return committedTwice.get();
  }

  /** Acks refused because the lease had run out and the message had moved on. */
  int staleLeases() {
    return staleLeases.get();
  }

  Exception failure() {
    return failure.get();
  }

  private void consume(int index) {
    String name = Thread.currentThread().getName();
    try {
      while (running) {
        List<Delivery> batch = broker.receive(queue, RECEIVE_BATCH);
        if (batch.isEmpty()) {
          Thread.sleep(IDLE_POLL_MS);
          continue;
        }
        List<Delivery> good = new ArrayList<>(batch.size());
        for (Delivery d : batch) {
          if (d.payload(Payment.class).poison() && !bugFixed.get()) {
            reject(d);
          } else {
            good.add(d);
          }
        }
        if (!good.isEmpty()) {
          Thread.sleep(workMillis * good.size());
          commit(index, name, good);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (SQLException | RuntimeException e) {
      failure.compareAndSet(null, e);
      deadLettered.completeExceptionally(e);
      synchronized (progressed) {
        progressed.notifyAll();
      }
    }
  }

  private void reject(Delivery d) {
    Payment p = d.payload(Payment.class);
    String error = "NullPointerException: payment " + p.number() + " has no currency"
        + " (in " + Thread.currentThread().getName() + ")";
    boolean willRetry = broker.nack(d, error);
    if (!willRetry) {
      deadLettered.complete(d.id());
    }
  }

  private void commit(int index, String name, List<Delivery> batch) throws SQLException {
    List<Delivery> todo = batch;
    try (Connection tx = dataSource.getConnection()) {
      tx.setAutoCommit(false);
      try {
        while (!todo.isEmpty()) {
          table.insert(tx, name, todo);
          List<Delivery> stale = broker.ackAll(tx, todo);
          if (stale.isEmpty()) {
            tx.commit();
            break;
          }
          // A lease ran out and another consumer owns that message now: undo this batch's
          // work and redo it without the stale ones, so only the owner's work counts.
          tx.rollback();
          staleLeases.addAndGet(stale.size());
          Set<Long> staleIds = new HashSet<>();
          stale.forEach(d -> staleIds.add(d.id()));
          todo = todo.stream().filter(d -> !staleIds.contains(d.id())).toList();
        }
      } catch (SQLException | RuntimeException e) {
        tx.rollback();
        throw e;
      }
    }
    for (Delivery d : todo) {
      if (processedBy.putIfAbsent(d.id(), name) != null) {
        committedTwice.incrementAndGet();
      }
    }
    perConsumer.addAndGet(index, todo.size());
    synchronized (progressed) {
      processed.addAndGet(todo.size());
      progressed.notifyAll();
    }
  }
}
