package dev.pgbroker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Collects acknowledgements of finished handlers and sends them in one statement per flush: the
 * flush interval after the first, or at once when a full batch is waiting. One statement for many
 * acks instead of one each is most of the difference between a few thousand and tens of thousands
 * of messages per second.
 */
final class AckBuffer {
  private static final Logger log = LoggerFactory.getLogger(AckBuffer.class);
  static final int MAX_BATCH = 1000;

  private final MessageSql messages;
  private final WorkerListener listener;
  private final Consumer<String> wake;
  private final long flushNanos;
  private final LinkedBlockingQueue<Delivery> pending = new LinkedBlockingQueue<>();

  /**
   * The batch being sent; kept across a failed flush, since the acks stay good until the leases run
   * out.
   */
  private final List<Delivery> batch = new ArrayList<>();

  private final Loop loop;

  /** {@code wake} hears of queues where an ack freed an ordering key, so its next message runs. */
  AckBuffer(
      MessageSql messages, WorkerListener listener, Consumer<String> wake, Duration flushInterval) {
    this.messages = messages;
    this.listener = listener;
    this.wake = wake;
    this.flushNanos = flushInterval.toNanos();
    this.loop = new Loop("pgbroker-acks", this::step, e -> listener.databaseError("ack", e));
  }

  void start() {
    loop.start();
  }

  void add(Delivery d) {
    pending.add(d);
  }

  private void step() throws InterruptedException {
    if (batch.isEmpty()) {
      Delivery first = pending.poll(100, TimeUnit.MILLISECONDS);
      if (first == null) {
        return;
      }
      batch.add(first);
      // Wait for company, asleep: the flush interval bounds the latency this adds. (Waiting on the
      // queue instead, each ack that trickled in woke this thread, signalled from the handler's.)
      if (pending.size() < MAX_BATCH - 1) {
        TimeUnit.NANOSECONDS.sleep(flushNanos);
      }
      pending.drainTo(batch, MAX_BATCH - 1);
    }
    flush();
  }

  /**
   * Acks the batch one queue at a time, removing what is done, so a failure leaves only the unsent
   * part to retry. A queue deleted meanwhile drops its part: retrying could never succeed.
   */
  private void flush() {
    Map<String, List<Delivery>> byQueue = new LinkedHashMap<>();
    batch.forEach(d -> byQueue.computeIfAbsent(d.queue(), q -> new ArrayList<>()).add(d));
    for (Map.Entry<String, List<Delivery>> e : byQueue.entrySet()) {
      List<Delivery> part = e.getValue();
      try {
        for (Delivery lost : messages.run("ack", c -> messages.ack(c, part)).stale()) {
          listener.leaseLost(lost);
        }
        if (part.stream().anyMatch(d -> d.orderingKey() != null)) {
          wake.accept(e.getKey()); // other instances hear of a freed key by the ack's NOTIFY
        }
      } catch (UnknownQueueException gone) {
        log.warn(
            "pgbroker: dropping {} acknowledgements for queue {}: {}",
            part.size(),
            e.getKey(),
            gone.getMessage());
      }
      batch.removeAll(part);
    }
  }

  /** Sends what is pending, waiting at most {@code timeout}, and stops. */
  void close(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    if (!loop.stop(timeout)) {
      log.warn(
          "pgbroker: acknowledgements still being sent at shutdown; unsent ones are"
              + " redelivered");
      return;
    }
    pending.drainTo(batch);
    while (!batch.isEmpty() && System.nanoTime() < deadline) {
      try {
        flush();
      } catch (RuntimeException e) {
        listener.databaseError("ack", e);
        break;
      }
    }
    if (!batch.isEmpty()) {
      log.warn(
          "pgbroker: {} acknowledgements not sent before shutdown; those messages will be"
              + " redelivered",
          batch.size());
    }
  }
}
