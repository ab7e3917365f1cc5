package dev.pgbroker.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.pgbroker.Broker;
import dev.pgbroker.Delivery;
import dev.pgbroker.QueueOptions;
import dev.pgbroker.Worker;
import dev.pgbroker.testing.BrokerExtension;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(BrokerExtension.class)
class PgBrokerMetricsTest {

  @Test
  void queueGaugesAndCountersFollowTheDatabase(Broker broker) {
    broker.createQueue("jobs", QueueOptions.defaults().maxAttempts(1));
    MeterRegistry registry = new SimpleMeterRegistry();
    new PgBrokerMetrics(broker, Duration.ZERO).bindTo(registry);

    broker.sendBatch("jobs", List.of(Map.of("n", 1), Map.of("n", 2), Map.of("n", 3)));
    List<Delivery> two = broker.read("jobs", 2);
    broker.ack(two.get(0));
    broker.nack(two.get(1), "boom"); // last attempt: dead-lettered

    assertThat(gauge(registry, "pgbroker.queue.ready", "jobs")).isEqualTo(1);
    assertThat(gauge(registry, "pgbroker.queue.dead", "jobs")).isEqualTo(1);
    assertThat(gauge(registry, "pgbroker.queue.depth", "jobs")).isEqualTo(1);
    assertThat(gauge(registry, "pgbroker.queue.in_flight", "jobs")).isZero();
    assertThat(counter(registry, "pgbroker.messages.sent", "jobs")).isEqualTo(3);
    assertThat(counter(registry, "pgbroker.messages.acked", "jobs")).isEqualTo(1);
    assertThat(counter(registry, "pgbroker.messages.failed", "jobs")).isEqualTo(1);
    assertThat(counter(registry, "pgbroker.messages.dead_lettered", "jobs")).isEqualTo(1);
  }

  @Test
  void queuesCreatedLaterAppearAndDeletedOnesGo(Broker broker) {
    MeterRegistry registry = new SimpleMeterRegistry();
    new PgBrokerMetrics(broker, Duration.ZERO).bindTo(registry);
    assertThat(registry.find("pgbroker.queue.ready").gauges()).isEmpty();

    broker.createQueue("later");
    broker.send("later", Map.of("x", 1));
    assertThat(registry.get("pgbroker.queues").gauge().value()).isEqualTo(1); // a scrape
    assertThat(gauge(registry, "pgbroker.queue.ready", "later")).isEqualTo(1);

    broker.deleteQueue("later");
    assertThat(registry.get("pgbroker.queues").gauge().value()).isZero();
    assertThat(registry.find("pgbroker.queue.ready").tag("queue", "later").gauge()).isNull();
  }

  @Test
  void workerListenerTimesHandlersAndEndToEnd(Broker broker) {
    broker.createQueue("timed", QueueOptions.defaults().backoffSchedule(Duration.ZERO));
    MeterRegistry registry = new SimpleMeterRegistry();
    PgBrokerMetrics metrics = new PgBrokerMetrics(broker);
    metrics.bindTo(registry);
    AtomicInteger calls = new AtomicInteger();
    try (Worker w =
        broker
            .worker()
            .listener(metrics)
            .handle(
                "timed",
                d -> {
                  if (calls.incrementAndGet() == 1) {
                    throw new IllegalStateException("first attempt fails");
                  }
                })
            .start()) {
      broker.send("timed", Map.of("a", 1));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> timerCount(registry, "pgbroker.end_to_end", "timed") == 1);
    }
    assertThat(
            registry
                .get("pgbroker.handler.duration")
                .tags("queue", "timed", "outcome", "failure")
                .timer()
                .count())
        .isEqualTo(1);
    assertThat(
            registry
                .get("pgbroker.handler.duration")
                .tags("queue", "timed", "outcome", "success")
                .timer()
                .count())
        .isEqualTo(1);
  }

  @Test
  void refusesANegativeMaxAgeAndASecondRegistry(Broker broker) {
    assertThatThrownBy(() -> new PgBrokerMetrics(broker, Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxAge must be >= 0, was PT-1S");
    PgBrokerMetrics metrics = new PgBrokerMetrics(broker);
    metrics.bindTo(new SimpleMeterRegistry());
    assertThatThrownBy(() -> metrics.bindTo(new SimpleMeterRegistry()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("already bound to another registry");
  }

  private static double gauge(MeterRegistry r, String name, String queue) {
    return r.get(name).tag("queue", queue).gauge().value();
  }

  private static double counter(MeterRegistry r, String name, String queue) {
    return r.get(name).tag("queue", queue).functionCounter().count();
  }

  private static long timerCount(MeterRegistry r, String name, String queue) {
    Timer t = r.find(name).tag("queue", queue).timer();
    return t == null ? 0 : t.count();
  }
}
