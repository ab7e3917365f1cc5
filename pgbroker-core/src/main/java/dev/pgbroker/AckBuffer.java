package dev.pgbroker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Collects acknowledgements of finished handlers and sends them in one statement per flush:
 * when a batch is full, or after the flush interval. One statement for many acks instead of one
 * each is most of the difference between a few thousand and tens of thousands of messages per
 * second.
 */
final class AckBuffer {
  private static final Logger log = LoggerFactory.getLogger(AckBuffer.class);
  static final int MAX_BATCH = 1000;

  private final Broker broker;
  private final WorkerListener listener;
  private final long flushNanos;
  private final LinkedBlockingQueue<Delivery> pending = new LinkedBlockingQueue<>();
  private final Thread flusher;
  private volatile boolean closing;
  private volatile long deadline = Long.MAX_VALUE;

  AckBuffer(Broker broker, WorkerListener listener, Duration flushInterval) {
    this.broker = broker;
    this.listener = listener;
    this.flushNanos = flushInterval.toNanos();
    this.flusher = new Thread(this::flushLoop, "pgbroker-acks");
    this.flusher.setDaemon(true);
  }

  void start() {
    flusher.start();
  }

  void add(Delivery d) {
    pending.add(d);
  }

  private void flushLoop() {
    List<Delivery> batch = new ArrayList<>();
    long backoffMs = 0;
    while (!(closing && pending.isEmpty() && batch.isEmpty()) && System.nanoTime() < deadline) {
      try {
        if (batch.isEmpty()) {
          Delivery first = pending.poll(100, TimeUnit.MILLISECONDS);
          if (first == null) {
            continue;
          }
          batch.add(first);
          // Wait briefly for company: the flush interval bounds the latency this adds.
          long until = System.nanoTime() + flushNanos;
          while (batch.size() < MAX_BATCH) {
            Delivery next = pending.poll(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (next == null) {
              break;
            }
            batch.add(next);
            pending.drainTo(batch, MAX_BATCH - batch.size());
          }
        }
        flush(batch);
        backoffMs = 0;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        // Keep the batch and try again: until the leases run out the acks are still good.
        listener.databaseError("ack", e);
        backoffMs = Math.min(Math.max(backoffMs * 2, 100), 5_000);
        log.warn("pgbroker: acknowledging {} messages failed, retrying in {} ms: {}", batch.size(), backoffMs, e.getMessage());
        try {
          Thread.sleep(backoffMs);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
    if (!batch.isEmpty() || !pending.isEmpty()) {
      log.warn("pgbroker: {} acknowledgements not sent before shutdown; those messages will be redelivered",
          batch.size() + pending.size());
    }
  }

  /**
   * Acks the batch one queue at a time, removing what is done, so a failure leaves only the
   * unsent part to retry. A queue deleted meanwhile drops its part: retrying could never succeed.
   */
  private void flush(List<Delivery> batch) {
    Map<String, List<Delivery>> byQueue = new LinkedHashMap<>();
    batch.forEach(d -> byQueue.computeIfAbsent(d.queue(), q -> new ArrayList<>()).add(d));
    for (Map.Entry<String, List<Delivery>> e : byQueue.entrySet()) {
      try {
        for (Delivery lost : broker.ackAll(e.getValue())) {
          listener.leaseLost(lost);
        }
      } catch (UnknownQueueException gone) {
        log.warn("pgbroker: dropping {} acknowledgements for queue {}: {}", e.getValue().size(),
            e.getKey(), gone.getMessage());
      }
      batch.removeAll(e.getValue());
    }
  }

  /** Sends what is pending, waiting at most {@code timeout}, and stops. */
  void close(Duration timeout) {
    deadline = System.nanoTime() + timeout.toNanos();
    closing = true;
    try {
      flusher.join(Math.max(1, timeout.toMillis()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
