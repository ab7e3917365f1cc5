package dev.pgbroker.micrometer;

import dev.pgbroker.Broker;
import dev.pgbroker.Delivery;
import dev.pgbroker.QueueStats;
import dev.pgbroker.WorkerListener;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * pgbroker's meters for an application's own {@link MeterRegistry}.
 *
 * <pre>{@code
 * PgBrokerMetrics metrics = new PgBrokerMetrics(broker);
 * metrics.bindTo(registry);
 * broker.worker().listener(metrics).handle(...).start(); // handler and end-to-end timers
 * }</pre>
 *
 * <p>Per queue (tag {@code queue}): gauges {@code pgbroker.queue.ready}, {@code .delayed}, {@code
 * .in_flight}, {@code .dead}, {@code .depth} (ready + delayed + in flight) and {@code
 * pgbroker.queue.oldest_ready_age}; counters {@code pgbroker.messages.sent}, {@code .acked}, {@code
 * .failed} and {@code .dead_lettered}. These are read from the database, so they count the work of
 * every process and survive restarts; one read of every queue's stats serves all meters for {@link
 * #DEFAULT_MAX_AGE}. The gauge {@code pgbroker.queues} reads them afresh, so queues created later
 * appear once it is read (each scrape does), and deleted ones disappear.
 *
 * <p>As a {@link WorkerListener}: timers {@code pgbroker.handler.duration} (tags {@code queue},
 * {@code outcome}: success or failure) and {@code pgbroker.end_to_end} (send to successful
 * handling), with histogram buckets for Prometheus. These time this process's workers only.
 *
 * <p>Safe to share between threads.
 */
public final class PgBrokerMetrics implements MeterBinder, WorkerListener {
  /** How long one read of the queues' stats serves every meter. */
  public static final Duration DEFAULT_MAX_AGE = Duration.ofSeconds(1);

  private static final Logger log = LoggerFactory.getLogger(PgBrokerMetrics.class);

  private final Broker broker;
  private final long maxAgeNanos;
  private final Map<String, QueueStats> stats = new HashMap<>();
  private final Map<String, List<Meter>> meters = new HashMap<>();
  private volatile MeterRegistry registry;
  private long readAt;
  private boolean read;

  public PgBrokerMetrics(Broker broker) {
    this(broker, DEFAULT_MAX_AGE);
  }

  /** {@code maxAge}: how long one read of the stats serves every meter; must be >= 0. */
  public PgBrokerMetrics(Broker broker, Duration maxAge) {
    this.broker = Objects.requireNonNull(broker, "broker");
    if (maxAge == null || maxAge.isNegative()) {
      throw new IllegalArgumentException("maxAge must be >= 0, was " + maxAge);
    }
    this.maxAgeNanos = maxAge.toNanos();
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    synchronized (this) {
      if (this.registry != null && this.registry != registry) {
        throw new IllegalStateException("already bound to another registry");
      }
      this.registry = Objects.requireNonNull(registry, "registry");
    }
    // Reading this gauge reads the stats afresh, so each scrape sees the queues made since the
    // last one; the other meters then share that read for the max age.
    Gauge.builder("pgbroker.queues", this, m -> m.refresh(true).size())
        .description("queues in the schema")
        .strongReference(true) // the binder lives as long as its meters, held or not
        .register(registry);
    refresh(true);
  }

  @Override
  public void succeeded(Delivery delivery, Duration took) {
    MeterRegistry r = registry;
    if (r == null) {
      return;
    }
    handlerTimer(r, delivery.queue(), "success").record(took);
    Duration endToEnd = Duration.between(delivery.enqueuedAt(), Instant.now());
    Timer.builder("pgbroker.end_to_end")
        .description("from send to the end of a successful handling")
        .tag("queue", delivery.queue())
        .publishPercentileHistogram()
        .register(r)
        .record(endToEnd.isNegative() ? Duration.ZERO : endToEnd);
  }

  @Override
  public void failed(Delivery delivery, Throwable error, Duration took, boolean willRetry) {
    MeterRegistry r = registry;
    if (r != null) {
      handlerTimer(r, delivery.queue(), "failure").record(took);
    }
  }

  private static Timer handlerTimer(MeterRegistry r, String queue, String outcome) {
    return Timer.builder("pgbroker.handler.duration")
        .description("time a handler took")
        .tags("queue", queue, "outcome", outcome)
        .publishPercentileHistogram()
        .register(r);
  }

  /** The latest stats, read again when older than the max age; keeps the last on an error. */
  private synchronized Map<String, QueueStats> refresh(boolean force) {
    long now = System.nanoTime();
    if (!force && read && now - readAt < maxAgeNanos) {
      return stats;
    }
    Map<String, QueueStats> fresh = new HashMap<>();
    try {
      for (String queue : broker.queues()) {
        fresh.put(queue, broker.stats(queue));
      }
    } catch (RuntimeException e) {
      // A scrape must not fail because the database blinked; the gauges show the last values.
      log.warn("cannot read queue stats for metrics: {}", e.toString());
      readAt = now;
      return stats;
    }
    read = true;
    readAt = now;
    for (String gone : new ArrayList<>(meters.keySet())) {
      if (!fresh.containsKey(gone)) {
        meters.remove(gone).forEach(registry::remove);
      }
    }
    stats.clear();
    stats.putAll(fresh);
    for (String queue : fresh.keySet()) {
      meters.computeIfAbsent(queue, this::register);
    }
    return stats;
  }

  private List<Meter> register(String queue) {
    MeterRegistry r = registry;
    List<Meter> list = new ArrayList<>();
    list.add(gauge(r, queue, "pgbroker.queue.ready", "deliverable now", QueueStats::ready));
    list.add(
        gauge(r, queue, "pgbroker.queue.delayed", "waiting for due time", QueueStats::delayed));
    list.add(gauge(r, queue, "pgbroker.queue.in_flight", "leased", QueueStats::inFlight));
    list.add(gauge(r, queue, "pgbroker.queue.dead", "in the dead-letter store", QueueStats::dead));
    list.add(
        gauge(
            r,
            queue,
            "pgbroker.queue.depth",
            "ready + delayed + in flight",
            s -> s.ready() + s.delayed() + s.inFlight()));
    list.add(
        TimeGauge.builder(
                "pgbroker.queue.oldest_ready_age",
                this,
                TimeUnit.MILLISECONDS,
                m -> m.value(queue, s -> s.oldestReadyAge().toMillis()))
            .description("how long the oldest deliverable message has waited")
            .tag("queue", queue)
            .strongReference(true)
            .register(r));
    list.add(counter(r, queue, "pgbroker.messages.sent", "messages stored", QueueStats::sent));
    list.add(counter(r, queue, "pgbroker.messages.acked", "acknowledged", QueueStats::acked));
    list.add(counter(r, queue, "pgbroker.messages.failed", "failed attempts", QueueStats::failed));
    list.add(
        counter(
            r,
            queue,
            "pgbroker.messages.dead_lettered",
            "moved to the dead-letter store",
            QueueStats::deadLettered));
    return list;
  }

  private Meter gauge(
      MeterRegistry r,
      String queue,
      String name,
      String description,
      ToDoubleFunction<QueueStats> f) {
    return Gauge.builder(name, this, m -> m.value(queue, f))
        .description(description)
        .tag("queue", queue)
        .strongReference(true)
        .register(r);
  }

  private Meter counter(
      MeterRegistry r,
      String queue,
      String name,
      String description,
      ToDoubleFunction<QueueStats> f) {
    // Held weakly, but the gauges of the same queue hold this binder strongly.
    return FunctionCounter.builder(name, this, m -> m.value(queue, f))
        .description(description)
        .tag("queue", queue)
        .register(r);
  }

  private double value(String queue, ToDoubleFunction<QueueStats> f) {
    QueueStats s = refresh(false).get(queue);
    return s == null ? Double.NaN : f.applyAsDouble(s);
  }
}
