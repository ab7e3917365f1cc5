package dev.pgbroker.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class RelayConfigTest {
  @Test
  void builderChecksEachSettingAsItIsSet() {
    RelayConfig.Builder b = RelayConfig.kafka("127.0.0.1:9092");
    assertThatThrownBy(() -> b.window(0)).hasMessage("window must be between 1 and 4096, was 0");
    assertThatThrownBy(() -> b.queue("Bad Name"))
        .hasMessageContaining("queue must be 1 to 63 characters")
        .hasMessageContaining("'Bad Name'");
    assertThatThrownBy(() -> b.confirmTimeout(Duration.ofMillis(10)))
        .hasMessage("confirmTimeout must be at least PT1S, was PT0.01S");
    assertThatThrownBy(() -> b.producerSetting("acks", "1"))
        .hasMessageContaining("producer setting acks is fixed by the relay");
    assertThatThrownBy(() -> b.route("orders", "x", "y"))
        .hasMessage("route applies to RABBITMQ only; this relay publishes to KAFKA");
    assertThatThrownBy(b::build).hasMessageContaining("at least one queue");
    assertThatThrownBy(() -> RelayConfig.rabbitMq(" "))
        .hasMessage("relay.rabbitmq.uri must not be empty");
    b.queue("orders");
    assertThatThrownBy(() -> b.queue("orders")).hasMessage("queue orders is listed twice");
    RelayConfig c = b.topic("orders", "orders-v1").window(64).build();
    assertThat(c.topic("orders")).isEqualTo("orders-v1");
    assertThat(c.topic("other")).isEqualTo("other");
    assertThat(c.window()).isEqualTo(64);
  }

  @Test
  void readsPropertiesWithEnvironmentOverrides() {
    Properties p = new Properties();
    p.setProperty("relay.sink", "rabbitmq");
    p.setProperty("relay.rabbitmq.uri", "amqp://guest:guest@127.0.0.1:5672/%2f");
    p.setProperty("relay.queues", "orders, payments");
    p.setProperty("relay.window", "32");
    p.setProperty("relay.confirm-timeout", "45s");
    p.setProperty("relay.rabbitmq.exchange.orders", "shop");
    p.setProperty("relay.rabbitmq.routing-key.orders", "order.created");
    p.setProperty("relay.rabbitmq.routing-key.payments", "pay");
    p.setProperty("server.port", "8080"); // the server's own keys sit beside the relay's
    RelayConfig c = RelayProperties.read(p, Map.of("PGBROKER_RELAY_WINDOW", "16", "OTHER", "x"));
    assertThat(c.sink()).isEqualTo(RelayConfig.SinkKind.RABBITMQ);
    assertThat(c.queues()).containsExactly("orders", "payments");
    assertThat(c.window()).isEqualTo(16);
    assertThat(c.confirmTimeout()).isEqualTo(Duration.ofSeconds(45));
    assertThat(c.route("orders")).isEqualTo(new RelayConfig.Route("shop", "order.created"));
    assertThat(c.route("payments")).isEqualTo(new RelayConfig.Route("", "pay"));
    assertThat(c.route("other")).isEqualTo(new RelayConfig.Route("", "other"));
  }

  @Test
  void environmentAloneCanConfigureKafka() {
    RelayConfig c =
        RelayProperties.read(
            new Properties(),
            Map.of(
                "PGBROKER_RELAY_SINK", "kafka",
                "PGBROKER_RELAY_KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092",
                "PGBROKER_RELAY_QUEUES", "events"));
    assertThat(c.sink()).isEqualTo(RelayConfig.SinkKind.KAFKA);
    assertThat(c.queues()).containsExactly("events");
  }

  @Test
  void badPropertiesNameTheKeyAndWhatIsAllowed() {
    Properties p = new Properties();
    assertThatThrownBy(() -> RelayProperties.read(p, Map.of()))
        .hasMessage(
            "missing relay setting relay.sink (rabbitmq or kafka); set it in the file or as"
                + " PGBROKER_RELAY_SINK");
    p.setProperty("relay.sink", "kafka");
    p.setProperty("relay.kafka.bootstrap-servers", "k:9092");
    p.setProperty("relay.queues", "a");
    p.setProperty("relay.window", "many");
    assertThatThrownBy(() -> RelayProperties.read(p, Map.of()))
        .hasMessage("relay.window: must be a whole number, was 'many'");
    p.setProperty("relay.window", "8");
    p.setProperty("relay.drain-timeout", "soon");
    assertThatThrownBy(() -> RelayProperties.read(p, Map.of()))
        .hasMessageStartingWith("relay.drain-timeout: must be a duration such as 500ms");
    p.remove("relay.drain-timeout");
    p.setProperty("relay.kafka.producer.enable.idempotence", "false");
    assertThatThrownBy(() -> RelayProperties.read(p, Map.of()))
        .hasMessageStartingWith(
            "relay.kafka.producer.enable.idempotence: producer setting enable.idempotence is fixed");
    p.remove("relay.kafka.producer.enable.idempotence");
    p.setProperty("relay.windw", "8");
    assertThatThrownBy(() -> RelayProperties.read(p, Map.of()))
        .hasMessageStartingWith("unknown relay setting relay.windw; known: relay.sink,");
    p.remove("relay.windw");
    p.setProperty("relay.sink", "pulsar");
    assertThatThrownBy(() -> RelayProperties.read(p, Map.of()))
        .hasMessage("relay.sink must be rabbitmq or kafka, was 'pulsar'");
  }
}
