package dev.pgbroker.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pgbroker.Broker;
import dev.pgbroker.QueueOptions;
import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.actuate.health.CompositeHealth;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthComponent;
import org.springframework.boot.actuate.health.HealthEndpoint;
import org.springframework.boot.actuate.health.Status;

@ExtendWith(BrokerExtension.class)
class ActuatorTest {

  @Test
  void healthIsUpThenDownWhenDeadLettersPassTheThreshold(TestSchema schema) {
    Contexts.on(schema)
        .withPropertyValues(
            "pgbroker.queues.payments.max-attempts=1", "pgbroker.health.dead-letter-threshold=1")
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              HealthEndpoint endpoint = context.getBean(HealthEndpoint.class);
              Health up = (Health) endpoint.healthForPath("pgbroker");
              assertThat(up.getStatus()).isEqualTo(Status.UP);
              assertThat(up.getDetails())
                  .containsEntry("schema", schema.name())
                  .containsEntry("schemaVersion", Broker.SCHEMA_VERSION)
                  .containsEntry("deadLetters", Map.of("payments", 0L));
              HealthComponent all = endpoint.health();
              assertThat(((CompositeHealth) all).getComponents()).containsKey("pgbroker");

              Broker broker = context.getBean(Broker.class);
              broker.sendBatch("payments", List.of(1, 2));
              broker.read("payments", 2).forEach(d -> broker.nack(d, "card declined"));
              Health down = (Health) endpoint.healthForPath("pgbroker");
              assertThat(down.getStatus()).isEqualTo(Status.DOWN);
              assertThat(down.getDetails().get("error").toString())
                  .contains("dead letters over the threshold of 1 in {payments=2}");
            });
  }

  @Test
  void healthIsDownWhenTheSchemaIsNotMigrated(TestSchema schema) {
    String fresh = schema.name() + "_new";
    Contexts.on(fresh)
        .withPropertyValues("pgbroker.migrate=false")
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              Health h = (Health) context.getBean(HealthEndpoint.class).healthForPath("pgbroker");
              assertThat(h.getStatus()).isEqualTo(Status.DOWN);
              assertThat(h.getDetails()).containsEntry("schemaVersion", 0);
              assertThat(h.getDetails().get("error").toString())
                  .contains("is at version 0, this pgbroker needs " + Broker.SCHEMA_VERSION);
            });
  }

  @Test
  void healthIsDownWhenTheDatabaseIsUnreachable(TestSchema schema) {
    Contexts.on(schema)
        .run(
            context -> {
              // The pool is closed under the running application, as a database outage would.
              context.getBean(com.zaxxer.hikari.HikariDataSource.class).close();
              Health h = (Health) context.getBean(HealthEndpoint.class).healthForPath("pgbroker");
              assertThat(h.getStatus()).isEqualTo(Status.DOWN);
              assertThat(h.getDetails()).containsKey("error");
            });
  }

  static class Counter {
    @PgBrokerListener(queue = "payments")
    void pay(int amount) {}
  }

  @Test
  void meters(TestSchema schema) {
    Contexts.on(schema)
        .withPropertyValues("pgbroker.queues.payments.max-attempts=1")
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              Broker broker = context.getBean(Broker.class);
              broker.createQueue("refunds", QueueOptions.defaults().maxAttempts(1));
              broker.sendBatch("refunds", List.of(1, 2, 3));
              broker.nack(broker.read("refunds", 1).get(0), "declined");
              MeterRegistry registry = context.getBean(MeterRegistry.class);
              // The gauges read the database at most once a second; a scrape reads
              // "pgbroker.queues" first, which adds the meters of queues created since.
              await()
                  .atMost(Duration.ofSeconds(10))
                  .untilAsserted(
                      () -> {
                        registry.get("pgbroker.queues").gauge().value();
                        assertThat(gauge(registry, "pgbroker.queue.ready", "refunds"))
                            .isEqualTo(2.0);
                        assertThat(gauge(registry, "pgbroker.queue.dead", "refunds"))
                            .isEqualTo(1.0);
                      });
              assertThat(gauge(registry, "pgbroker.queue.in_flight", "refunds")).isZero();
              assertThat(
                      registry
                          .get("pgbroker.messages.sent")
                          .tag("queue", "refunds")
                          .functionCounter()
                          .count())
                  .isEqualTo(3.0);
            });
  }

  @Test
  void listenerHandlingsAreTimed(TestSchema schema) {
    Contexts.on(schema)
        .withBean(Counter.class)
        .run(
            context -> {
              context.getBean(Broker.class).sendBatch("payments", List.of(1, 2, 3, 4, 5));
              MeterRegistry registry = context.getBean(MeterRegistry.class);
              await()
                  .atMost(Duration.ofSeconds(30))
                  .until(
                      () -> {
                        Timer t =
                            registry
                                .find("pgbroker.handler.duration")
                                .tags("queue", "payments", "outcome", "success")
                                .timer();
                        return t != null && t.count() == 5;
                      });
            });
  }

  private static double gauge(MeterRegistry registry, String name, String queue) {
    return registry.get(name).tag("queue", queue).gauge().value();
  }
}
