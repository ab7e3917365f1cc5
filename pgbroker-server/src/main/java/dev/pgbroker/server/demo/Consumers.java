package dev.pgbroker.server.demo;

import dev.pgbroker.Broker;
import dev.pgbroker.Delivery;
import dev.pgbroker.Worker;
import dev.pgbroker.WorkerListener;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * Competing consumers of one queue: one {@link Worker} each, as three instances of a service would
 * run. Each handler records its payment in the {@link ProcessedTable} inside the transaction that
 * acknowledges it, so a payment's effect commits exactly once. Poison payments fail while the
 * simulated bug is live. Safe to query from any thread.
 */
final class Consumers {
  /** Handlers each consumer runs at once. */
  static final int CONCURRENCY = 4;

  private final Broker broker;
  private final ProcessedTable table;
  private final String queue;
  private final int count;
  private final AtomicBoolean bugFixed;
  private final Duration work;
  private final List<Worker> workers = new ArrayList<>();
  private final AtomicIntegerArray perConsumer;
  private final AtomicInteger processed = new AtomicInteger();

  /** Notified whenever {@link #processed} grows. */
  private final Object progressed = new Object();

  private final AtomicInteger committedTwice = new AtomicInteger();
  private final AtomicInteger staleLeases = new AtomicInteger();
  private final Map<Long, String> processedBy = new ConcurrentHashMap<>();
  private final CompletableFuture<Long> deadLettered = new CompletableFuture<>();

  /** {@code work} is the simulated processing time per payment (a payment provider's call). */
  Consumers(
      Broker broker,
      ProcessedTable table,
      String queue,
      int count,
      Duration work,
      AtomicBoolean bugFixed) {
    this.broker = broker;
    this.table = table;
    this.queue = queue;
    this.count = count;
    this.bugFixed = bugFixed;
    this.work = work;
    this.perConsumer = new AtomicIntegerArray(count);
  }

  void start() {
    for (int i = 0; i < count; i++) {
      int index = i;
      String name = "consumer-" + (i + 1);
      workers.add(
          broker
              .worker()
              .handleInTransaction(queue, (tx, d) -> handle(name, tx, d))
              .concurrency(queue, CONCURRENCY)
              .listener(new Tally(index, name))
              .start());
    }
  }

  /** Drains and stops every worker; the demo calls it once every message is settled. */
  void stop() {
    workers.forEach(Worker::close);
  }

  private void handle(String name, Connection tx, Delivery d) throws Exception {
    Payment p = d.payload(Payment.class);
    if (p.poison() && !bugFixed.get()) {
      throw new IllegalStateException(
          "payment " + p.number() + " has no currency (in " + name + ")");
    }
    Thread.sleep(work.toMillis());
    table.insert(tx, name, List.of(d));
  }

  /** Counts what one consumer's worker reports; succeeded comes after the commit. */
  private final class Tally implements WorkerListener {
    private final int index;
    private final String name;

    Tally(int index, String name) {
      this.index = index;
      this.name = name;
    }

    @Override
    public void succeeded(Delivery d, Duration took) {
      if (processedBy.putIfAbsent(d.id(), name) != null) {
        committedTwice.incrementAndGet();
      }
      perConsumer.incrementAndGet(index);
      synchronized (progressed) {
        processed.incrementAndGet();
        progressed.notifyAll();
      }
    }

    @Override
    public void deadLettered(Delivery d, String error) {
      deadLettered.complete(d.id());
    }

    @Override
    public void leaseLost(Delivery d) {
      staleLeases.incrementAndGet();
    }
  }

  /** Waits until {@code target} messages are processed; false on timeout. */
  boolean awaitProcessed(int target, Duration limit) throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    synchronized (progressed) {
      while (processed.get() < target) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
          return false;
        }
        progressed.wait(left);
      }
    }
    return true;
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
    return count;
  }

  /** Which consumer committed the message, or null. */
  String whoProcessed(long messageId) {
    return processedBy.get(messageId);
  }

  /** Messages whose work committed more than once in this JVM; the leases should make it 0. */
  int committedTwice() {
    return committedTwice.get();
  }

  /** Deliveries whose lease ran out before their ack; the message went to another consumer. */
  int staleLeases() {
    return staleLeases.get();
  }
}
