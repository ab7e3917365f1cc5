package dev.pgbroker.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.GetResponse;
import dev.pgbroker.Broker;
import dev.pgbroker.DeadLetter;
import dev.pgbroker.Json;
import dev.pgbroker.SendOptions;
import dev.pgbroker.relay.testing.RabbitMqServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RabbitMqRelayTest extends RelayContract {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final List<String> declared = new ArrayList<>();

  @BeforeAll
  static void rabbitMq() throws Exception {
    RabbitMqServer.ensureRunning();
  }

  @AfterEach
  void deleteQueues() throws Exception {
    try (Connection c = RabbitMqServer.factory().newConnection();
        Channel ch = c.createChannel()) {
      for (String q : declared) {
        ch.queueDelete(q);
      }
    }
  }

  @Override
  void prepare(String queue) throws Exception {
    try (Connection c = RabbitMqServer.factory().newConnection();
        Channel ch = c.createChannel()) {
      ch.queueDeclare(queue, true, false, false, null);
    }
    declared.add(queue);
  }

  @Override
  Properties properties(String queue) {
    Properties p = new Properties();
    p.setProperty("relay.sink", "rabbitmq");
    p.setProperty("relay.rabbitmq.uri", RabbitMqServer.URI);
    p.setProperty("relay.queues", queue);
    p.setProperty("relay.confirm-timeout", "10s");
    p.setProperty("relay.max-backoff", "1s");
    return p;
  }

  @Override
  List<Outbox.Received> consumeAll(String queue, int atLeast) throws Exception {
    List<Outbox.Received> received = new ArrayList<>();
    try (Connection c = RabbitMqServer.factory().newConnection();
        Channel ch = c.createChannel()) {
      GetResponse r;
      while ((r = ch.basicGet(queue, true)) != null) {
        JsonNode body = JSON.readTree(r.getBody());
        received.add(
            new Outbox.Received(
                Long.parseLong(r.getProps().getMessageId()),
                body.get("k").asText(),
                body.get("n").asInt()));
      }
    }
    assertThat(received.size()).isGreaterThanOrEqualTo(atLeast);
    return received;
  }

  @Override
  void stopBroker() throws Exception {
    RabbitMqServer.stopApp();
  }

  @Override
  void startBroker() throws Exception {
    RabbitMqServer.startApp();
  }

  @Test
  void unroutableMessageGoesToTheDeadLettersWithRabbitMqsReason(Broker broker) throws Exception {
    String queue = queue();
    createQueue(broker, queue);
    prepare(queue);
    try (Relay relay = Relay.start(broker, RelayConfig.fromProperties(properties(queue)))) {
      long lost =
          broker.send(
              queue,
              Json.of("{\"k\":\"a\",\"n\":1}"),
              SendOptions.none().header(Relay.ROUTING_KEY_HEADER, "no-such-queue-anywhere"));
      long fine = broker.send(queue, Json.of("{\"k\":\"a\",\"n\":2}"));
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  broker.deadLetters(queue).list(10).size() == 1
                      && broker.stats(queue).acked() == 1);
      DeadLetter dead = broker.deadLetters(queue).list(10).get(0);
      assertThat(dead.id()).isEqualTo(lost);
      assertThat(dead.lastError()).contains("NO_ROUTE").contains("no-such-queue-anywhere");
      List<Outbox.Received> got = consumeAll(queue, 1);
      assertThat(got).extracting(Outbox.Received::id).containsExactly(fine);
      assertThat(relay.stats().deadLettered()).isEqualTo(1);
    }
  }

  @Test
  void waitsOutAMemoryAlarmAndPublishesAfterIt(Broker broker) throws Exception {
    String queue = queue();
    createQueue(broker, queue);
    prepare(queue);
    RabbitMqServer.run(
        Duration.ofSeconds(30), "rabbitmqctl", "set_vm_memory_high_watermark", "0.0000001");
    try (Relay relay = Relay.start(broker, RelayConfig.fromProperties(properties(queue)))) {
      for (int i = 0; i < 20; i++) {
        broker.send(
            queue,
            Json.of(Outbox.payload("k" + (i % 3), i)),
            SendOptions.none().orderingKey("k" + (i % 3)));
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> relay.stats().retried() > 0);
      assertThat(broker.stats(queue).acked()).isZero();
    } finally {
      RabbitMqServer.run(
          Duration.ofSeconds(30), "rabbitmqctl", "set_vm_memory_high_watermark", "0.4");
    }
    try (Relay relay = Relay.start(broker, RelayConfig.fromProperties(properties(queue)))) {
      await().atMost(Duration.ofSeconds(60)).until(() -> broker.stats(queue).acked() == 20);
      // A publish the alarm held in the first relay's socket arrives too once the alarm ends:
      // delivery is at least once, and a duplicate carries its message's id.
      List<Outbox.Received> got = consumeAll(queue, 20);
      assertThat(got.stream().map(Outbox.Received::n).distinct().sorted().toList())
          .isEqualTo(IntStream.range(0, 20).boxed().toList());
      assertThat(got.stream().collect(Collectors.groupingBy(Outbox.Received::n)).values())
          .as("the copies of each message all carry its id")
          .allSatisfy(
              copies ->
                  assertThat(copies)
                      .extracting(Outbox.Received::id)
                      .containsOnly(copies.get(0).id()));
      assertThat(broker.deadLetters(queue).list(10)).isEmpty();
    }
  }
}
