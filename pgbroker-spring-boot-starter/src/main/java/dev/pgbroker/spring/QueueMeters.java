package dev.pgbroker.spring;

import dev.pgbroker.Broker;
import dev.pgbroker.QueueStats;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gauges per queue ({@code pgbroker.queue.ready}, {@code .delayed}, {@code .in_flight}, {@code
 * .dead}, tag {@code queue}) for the queues that exist when the registry binds them. One read of a
 * queue's stats serves its gauges for a second, so a scrape costs one query per queue.
 */
final class QueueMeters implements MeterBinder {
  private static final long MAX_AGE_NANOS = 1_000_000_000L;

  private static final Logger log = LoggerFactory.getLogger(QueueMeters.class);

  private final Broker broker;
  private final Map<String, Snapshot> latest = new ConcurrentHashMap<>();

  QueueMeters(Broker broker) {
    this.broker = broker;
  }

  private record Snapshot(QueueStats stats, long readAt) {}

  @Override
  public void bindTo(MeterRegistry registry) {
    List<String> queues;
    try {
      queues = broker.queues();
    } catch (RuntimeException e) {
      // The schema may not be migrated yet (pgbroker.migrate=false): health says so; no meters.
      log.warn("pgbroker: no queue meters, the queues could not be listed: {}", e.getMessage());
      return;
    }
    for (String queue : queues) {
      gauge(registry, queue, "ready", QueueStats::ready);
      gauge(registry, queue, "delayed", QueueStats::delayed);
      gauge(registry, queue, "in_flight", QueueStats::inFlight);
      gauge(registry, queue, "dead", QueueStats::dead);
    }
  }

  private void gauge(
      MeterRegistry registry, String queue, String name, ToDoubleFunction<QueueStats> value) {
    Gauge.builder("pgbroker.queue." + name, this, m -> value.applyAsDouble(m.stats(queue)))
        .tag("queue", queue)
        .strongReference(true)
        .register(registry);
  }

  private QueueStats stats(String queue) {
    long now = System.nanoTime();
    Snapshot s =
        latest.compute(
            queue,
            (q, old) ->
                old != null && now - old.readAt() < MAX_AGE_NANOS
                    ? old
                    : new Snapshot(broker.stats(q), now));
    return s.stats();
  }
}
