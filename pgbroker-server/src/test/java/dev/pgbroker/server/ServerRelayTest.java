package dev.pgbroker.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import dev.pgbroker.Broker;
import dev.pgbroker.relay.testing.RabbitMqServer;
import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestDatabase;
import dev.pgbroker.testing.TestSchema;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pgbroker server} with {@code relay.*} in its properties file: messages sent through the
 * HTTP API reach the machine's real RabbitMQ, every one with its id, and the relay's lag is in
 * {@code /metrics} and at {@code GET /v1/relay}.
 */
@ExtendWith(BrokerExtension.class)
class ServerRelayTest {
  private static final String TOKEN = "relay-admin-token-0123456789";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MESSAGES = 300;

  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  void messagesSentOverHttpReachRabbitMqAndTheLagIsMeasured(
      Broker broker, TestSchema schema, @TempDir Path dir) throws Exception {
    RabbitMqServer.ensureRunning();
    // Names of this run's own: RabbitMQ is shared by every test JVM on the machine.
    String orders =
        "srv-relay-" + ProcessHandle.current().pid() + "-" + System.nanoTime() % 100_000;
    String later = orders + "-later";
    broker.createQueue(orders);
    broker.createQueue(later);
    Path config = dir.resolve("server.properties");
    Files.writeString(
        config,
        String.join(
            "\n",
            "db.url=" + TestDatabase.jdbcUrl(),
            "schema=" + schema.name(),
            "http.port=0",
            "http.admin-tokens=" + TOKEN,
            "relay.sink=rabbitmq",
            "relay.rabbitmq.uri=" + RabbitMqServer.URI,
            "relay.queues=" + orders + ", " + later,
            ""));

    try (Connection amqp = RabbitMqServer.factory().newConnection();
        Channel channel = amqp.createChannel()) {
      // the default exchange routes each relayed queue's messages to the RabbitMQ queue named so
      channel.queueDeclare(orders, false, false, false, null);
      channel.queueDeclare(later, false, false, false, null);
      ConcurrentLinkedQueue<Long> arrived = new ConcurrentLinkedQueue<>();
      channel.basicConsume(
          orders,
          true,
          new DefaultConsumer(channel) {
            @Override
            public void handleDelivery(
                String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body) {
              arrived.add(Long.parseLong(props.getMessageId()));
            }
          });
      try {
        StringWriter printed = new StringWriter();
        Set<Long> sent = new HashSet<>();
        try (RunningServer server =
            RunningServer.start(
                ServerConfig.load(config, Map.of()), new PrintWriter(printed, true))) {
          URI base = URI.create("http://127.0.0.1:" + server.port() + "/");
          assertThat(printed.toString()).contains("relay: started for " + orders + ", " + later);
          // waits an hour in its queue: the lag of that queue grows while it is there
          post(base, "v1/queues/" + later + "/messages", "{\"payload\": 0, \"delay_ms\": 3600000}");
          for (int i = 0; i < MESSAGES; i += 50) {
            StringBuilder payloads = new StringBuilder();
            for (int j = i; j < i + 50; j++) {
              payloads.append(j == i ? "" : ",").append("{\"n\": ").append(j).append('}');
            }
            JsonNode ids =
                post(
                        base,
                        "v1/queues/" + orders + "/messages/batch",
                        "{\"payloads\": [" + payloads + "]}")
                    .get("ids");
            ids.forEach(id -> sent.add(id.asLong()));
          }
          assertThat(sent).hasSize(MESSAGES);

          until("RabbitMQ has every message", () -> new HashSet<>(arrived).size() >= MESSAGES);
          until(
              "pgbroker counts every message acked",
              () -> broker.stats(orders).acked() == MESSAGES);
          assertThat(new HashSet<>(arrived)).isEqualTo(sent);
          assertThat(arrived).hasSizeGreaterThanOrEqualTo(MESSAGES); // at least once
          assertThat(broker.stats(orders).dead()).isZero();

          // the delayed message is the relay's only backlog: a lag of its age, the other queue none
          until("the delayed message is over a second old", () -> lagMs(base, later) >= 1000);
          assertThat(lagMs(base, orders)).isZero();
          String metrics = get(base, "metrics");
          assertThat(gauge(metrics, orders)).isZero();
          assertThat(gauge(metrics, later)).isGreaterThanOrEqualTo(1.0);
        }
        assertThat(channel.queueDeclarePassive(later).getMessageCount()).isZero();
      } finally {
        channel.queueDelete(orders);
        channel.queueDelete(later);
      }
    }
  }

  private long lagMs(URI base, String queue) throws Exception {
    for (JsonNode q : JSON.readTree(get(base, "v1/relay")).get("queues")) {
      if (q.get("queue").asText().equals(queue)) {
        return q.get("lag_ms").asLong();
      }
    }
    throw new AssertionError("GET /v1/relay does not list " + queue);
  }

  private static double gauge(String metrics, String queue) {
    Matcher m =
        Pattern.compile(
                "(?m)^pgbroker_relay_lag_seconds\\{queue=\"" + Pattern.quote(queue) + "\"} (\\S+)$")
            .matcher(metrics);
    assertThat(m.find()).as("pgbroker_relay_lag_seconds of %s in:%n%s", queue, metrics).isTrue();
    return Double.parseDouble(m.group(1));
  }

  private String get(URI base, String path) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(base.resolve(path))
                .header("Authorization", "Bearer " + TOKEN)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
    return r.body();
  }

  private JsonNode post(URI base, String path, String body) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(base.resolve(path))
                .header("Authorization", "Bearer " + TOKEN)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(201);
    return JSON.readTree(r.body());
  }

  private interface Check {
    boolean holds() throws Exception;
  }

  /** Polls every 50 ms for up to 60 s (a loaded 2-core machine relays slowly). */
  private static void until(String what, Check condition) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!condition.holds()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.sleep(50);
    }
  }
}
