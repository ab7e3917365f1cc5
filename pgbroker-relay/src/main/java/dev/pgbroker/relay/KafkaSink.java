package dev.pgbroker.relay;

import dev.pgbroker.Delivery;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Publishes to Kafka with an idempotent producer and {@code acks=all}: the ordering key is the
 * record key, so a key's messages share a partition and keep their order there; pgbroker's id,
 * queue and headers ride as record headers. The producer retries transient faults by itself until
 * its delivery timeout, which is the relay's confirm timeout.
 */
final class KafkaSink implements Sink {
  private final RelayConfig config;
  private final KafkaProducer<byte[], byte[]> producer;

  KafkaSink(RelayConfig config) {
    this.config = config;
    Map<String, Object> p = new HashMap<>();
    long confirmMs = config.confirmTimeout.toMillis();
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(Math.min(30_000, confirmMs / 2)));
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Long.toString(confirmMs));
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Long.toString(Math.min(10_000, confirmMs)));
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "pgbroker-relay");
    p.putAll(config.producer);
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.target);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
    try {
      this.producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    } catch (KafkaException e) {
      throw new IllegalArgumentException(
          "cannot create the Kafka producer: "
              + e.getMessage()
              + (e.getCause() == null ? "" : " (" + e.getCause().getMessage() + ")"),
          e);
    }
  }

  @Override
  public CompletableFuture<Void> publish(Delivery d) {
    Map<String, String> h = d.headers();
    String topic = h.getOrDefault(Relay.TOPIC_HEADER, config.topic(d.queue()));
    byte[] key = d.orderingKey() == null ? null : utf8(d.orderingKey());
    ProducerRecord<byte[], byte[]> record =
        new ProducerRecord<>(topic, null, key, utf8(d.payloadJson()));
    h.forEach((name, value) -> record.headers().add(name, utf8(value)));
    record.headers().add(Relay.ID_HEADER, utf8(Long.toString(d.id())));
    record.headers().add(Relay.QUEUE_HEADER, utf8(d.queue()));
    if (d.orderingKey() != null) {
      record.headers().add(Relay.ORDERING_KEY_HEADER, key);
    }
    CompletableFuture<Void> confirmed = new CompletableFuture<>();
    try {
      producer.send(
          record,
          (metadata, error) -> {
            if (error == null) {
              confirmed.complete(null);
            } else {
              confirmed.completeExceptionally(classify(topic, error));
            }
          });
    } catch (RuntimeException e) {
      confirmed.completeExceptionally(classify(topic, e));
    }
    return confirmed;
  }

  /** Errors no retry can cure are permanent; everything else (timeouts, leaders moving) is not. */
  private static SinkException classify(String topic, Throwable e) {
    if (e instanceof RecordTooLargeException
        || e instanceof RecordBatchTooLargeException
        || e instanceof InvalidTopicException
        || e instanceof TopicAuthorizationException
        || e instanceof SerializationException) {
      return SinkException.permanent(
          "Kafka refused it for topic "
              + topic
              + ": "
              + e.getClass().getSimpleName()
              + ": "
              + e.getMessage());
    }
    return SinkException.transientFault(
        "Kafka: " + e.getClass().getSimpleName() + ": " + e.getMessage(), e);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(5));
  }
}
