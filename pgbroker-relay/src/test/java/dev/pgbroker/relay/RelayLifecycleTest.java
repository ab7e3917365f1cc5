package dev.pgbroker.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.pgbroker.Broker;
import dev.pgbroker.Delivery;
import dev.pgbroker.Json;
import dev.pgbroker.QueueStats;
import dev.pgbroker.SendOptions;
import dev.pgbroker.UnknownQueueException;
import dev.pgbroker.relay.testing.RabbitMqServer;
import dev.pgbroker.testing.BrokerExtension;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Start and stop: unknown queues refused, double stop, a stop while the broker is away; a confirm
 * that never comes.
 */
@ExtendWith(BrokerExtension.class)
class RelayLifecycleTest {
  @BeforeAll
  static void rabbitMq() throws Exception {
    RabbitMqServer.ensureRunning();
  }

  @Test
  void refusesAQueueThatDoesNotExist(Broker broker) {
    RelayConfig config = RelayConfig.rabbitMq(RabbitMqServer.URI).queue("missing").build();
    assertThatThrownBy(() -> Relay.start(broker, config))
        .isInstanceOf(UnknownQueueException.class)
        .hasMessageContaining("missing");
  }

  @Test
  void stopWhileTheBrokerIsUnreachableKeepsEveryMessage(Broker broker) {
    String queue = RelayContract.queue();
    RelayContract.createQueue(broker, queue);
    // a port nothing listens on: every publish is a transient fault
    RelayConfig config =
        RelayConfig.rabbitMq("amqp://guest:guest@127.0.0.1:1/%2f")
            .queue(queue)
            .maxBackoff(Duration.ofMillis(200))
            .build();
    for (int i = 0; i < 10; i++) {
      broker.send(
          queue, Json.of(Outbox.payload("k", i)), SendOptions.none().orderingKey("k" + i % 2));
    }
    Relay relay = Relay.start(broker, config);
    await().atMost(Duration.ofSeconds(30)).until(() -> relay.stats().retried() >= 4);
    assertThat(relay.stats().confirmed()).isZero();
    assertThat(relay.stop(Duration.ofSeconds(10))).isTrue();
    assertThat(relay.stop(Duration.ofSeconds(10))).as("a second stop does nothing").isTrue();
    relay.close();
    QueueStats s = broker.stats(queue);
    assertThat(s.ready() + s.delayed() + s.inFlight()).isEqualTo(10);
    assertThat(s.dead()).isZero();
    assertThat(s.acked()).isZero();
  }

  @Test
  void aPublishNotConfirmedInTimeIsPublishedAgain(Broker broker) {
    String queue = RelayContract.queue();
    RelayContract.createQueue(broker, queue);
    List<Long> published = new CopyOnWriteArrayList<>();
    // A sink of one's own whose first publish is never confirmed, as when a confirm is lost.
    Sink losesTheFirstConfirm =
        new Sink() {
          @Override
          public CompletableFuture<Void> publish(Delivery message) {
            published.add(message.id());
            return published.size() == 1
                ? new CompletableFuture<>()
                : CompletableFuture.completedFuture(null);
          }

          @Override
          public void close() {}
        };
    long id = broker.send(queue, Json.of("{}"));
    RelayConfig config =
        RelayConfig.rabbitMq(RabbitMqServer.URI)
            .queue(queue)
            .confirmTimeout(Duration.ofSeconds(1))
            .build();
    long start = System.nanoTime();
    try (Relay relay = Relay.start(broker, config, losesTheFirstConfirm)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> broker.stats(queue).acked() == 1);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThan(Duration.ofSeconds(1));
      assertThat(published).containsExactly(id, id);
      assertThat(relay.stats().retried()).isEqualTo(1);
      assertThat(relay.stats().confirmed()).isEqualTo(1);
    }
  }
}
