package dev.pgbroker.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgbroker.Broker;
import dev.pgbroker.DeadLetter;
import dev.pgbroker.Json;
import dev.pgbroker.relay.testing.KafkaServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class KafkaRelayTest extends RelayContract {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static KafkaServer kafka;

  @BeforeAll
  static void kafka() throws Exception {
    kafka = new KafkaServer();
  }

  @AfterAll
  static void stopKafka() throws Exception {
    kafka.close();
  }

  @Override
  void prepare(String queue) throws Exception {
    kafka.createTopic(queue, 6); // keys spread over partitions; each key's order lives in one
  }

  @Override
  Properties properties(String queue) {
    Properties p = new Properties();
    p.setProperty("relay.sink", "kafka");
    p.setProperty("relay.kafka.bootstrap-servers", kafka.bootstrapServers());
    p.setProperty("relay.queues", queue);
    p.setProperty("relay.confirm-timeout", "20s");
    p.setProperty("relay.max-backoff", "1s");
    return p;
  }

  @Override
  List<Outbox.Received> consumeAll(String queue, int atLeast) {
    List<Outbox.Received> received = new ArrayList<>();
    Map<String, Object> config =
        Map.of("bootstrap.servers", kafka.bootstrapServers(), "enable.auto.commit", "false");
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(queue).stream()
              .map(p -> new TopicPartition(queue, p.partition()))
              .collect(Collectors.toList());
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      long idleSince = System.currentTimeMillis();
      while (received.size() < atLeast || System.currentTimeMillis() - idleSince < 2_000) {
        var records = consumer.poll(Duration.ofMillis(200));
        if (!records.isEmpty()) {
          idleSince = System.currentTimeMillis();
        }
        for (ConsumerRecord<byte[], byte[]> r : records) {
          received.add(received(r));
        }
        if (System.currentTimeMillis() - idleSince > 60_000) {
          break;
        }
      }
    }
    assertThat(received.size()).isGreaterThanOrEqualTo(atLeast);
    return received;
  }

  private static Outbox.Received received(ConsumerRecord<byte[], byte[]> r) {
    try {
      JsonNode body = JSON.readTree(r.value());
      Header id = r.headers().lastHeader(Relay.ID_HEADER);
      String key = new String(r.key(), StandardCharsets.UTF_8);
      assertThat(key).isEqualTo(body.get("k").asText());
      return new Outbox.Received(
          Long.parseLong(new String(id.value(), StandardCharsets.UTF_8)),
          key,
          body.get("n").asInt());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Override
  void stopBroker() {
    kafka.stop();
  }

  @Override
  void startBroker() {
    kafka.start();
  }

  @Test
  void recordTooLargeGoesToTheDeadLettersWithKafkasReason(Broker broker) throws Exception {
    String queue = queue();
    createQueue(broker, queue);
    prepare(queue);
    Properties p = properties(queue);
    p.setProperty("relay.kafka.producer.max.request.size", "2000");
    try (Relay relay = Relay.start(broker, RelayConfig.fromProperties(p))) {
      long big =
          broker.send(
              queue, Json.of("{\"k\":\"a\",\"n\":1,\"pad\":\"" + "x".repeat(5_000) + "\"}"));
      long fine = broker.send(queue, Json.of("{\"k\":\"a\",\"n\":2}"));
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  broker.deadLetters(queue).list(10).size() == 1
                      && broker.stats(queue).acked() == 1);
      DeadLetter dead = broker.deadLetters(queue).list(10).get(0);
      assertThat(dead.id()).isEqualTo(big);
      assertThat(dead.lastError()).contains("RecordTooLargeException");
      assertThat(relay.stats().deadLettered()).isEqualTo(1);
    }
  }
}
