package dev.pgbroker.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgbroker.Broker;
import dev.pgbroker.QueueOptions;
import dev.pgbroker.QueueStats;
import dev.pgbroker.testing.BrokerExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(BrokerExtension.class)
class HttpApiTest {
  private HttpApi api;
  private ApiClient admin;

  @BeforeEach
  void start(Broker broker) throws Exception {
    api = Servers.start(broker);
    admin = new ApiClient(api.uri(), Servers.ADMIN);
  }

  @AfterEach
  void stop() {
    api.close();
    api.close(); // a second close is harmless
  }

  @Test
  void sendReceiveAckWithEveryOption(Broker broker) throws Exception {
    assertThat(admin.send("PUT", "/v1/queues/orders", "{\"max_attempts\": 3}").status())
        .isEqualTo(200);
    ApiClient.Response sent =
        admin.post(
            "/v1/queues/orders/messages",
            "{\"payload\": {\"order\": 42}, \"priority\": 5, \"dedup_key\": \"o-42\","
                + " \"ordering_key\": \"acct-1\", \"headers\": {\"tenant\": \"acme\"},"
                + " \"type\": \"order.created\", \"max_attempts\": 2, \"backoff_ms\": [10]}");
    assertThat(sent.status()).isEqualTo(201);
    long id = sent.json().get("id").asLong();
    // a dedup hit returns the same id and stores nothing
    assertThat(
            admin
                .post("/v1/queues/orders/messages", "{\"payload\": 1, \"dedup_key\": \"o-42\"}")
                .json()
                .get("id")
                .asLong())
        .isEqualTo(id);
    ApiClient.Response batch =
        admin.post(
            "/v1/queues/orders/messages/batch", "{\"payloads\": [1, 2], \"delay_ms\": 3600000}");
    assertThat(batch.json().get("ids")).hasSize(2);

    JsonNode got =
        admin.post("/v1/queues/orders/receive", "{\"max_messages\": 10}").json().get("messages");
    assertThat(got).hasSize(1);
    JsonNode m = got.get(0);
    assertThat(m.get("id").asLong()).isEqualTo(id);
    assertThat(m.get("payload").get("order").asInt()).isEqualTo(42);
    assertThat(m.get("headers").get("tenant").asText()).isEqualTo("acme");
    assertThat(m.get("headers").get("type").asText()).isEqualTo("order.created");
    assertThat(m.get("priority").asInt()).isEqualTo(5);
    assertThat(m.get("ordering_key").asText()).isEqualTo("acct-1");
    String lease = m.get("lease").asText();
    String settle = "/v1/queues/orders/messages/" + id;
    assertThat(
            admin
                .post(settle + "/extend", "{\"lease\": \"" + lease + "\", \"extend_ms\": 60000}")
                .status())
        .isEqualTo(200);
    assertThat(admin.post(settle + "/ack", "{\"lease\": \"" + lease + "\"}").json().toString())
        .isEqualTo("{\"acked\":true}");
    // a second ack presents a lease that no longer holds anything
    ApiClient.Response again = admin.post(settle + "/ack", "{\"lease\": \"" + lease + "\"}");
    assertThat(again.status()).isEqualTo(409);
    assertThat(again.json().get("code").asText()).isEqualTo("stale_lease");

    QueueStats s = broker.stats("orders");
    assertThat(s.acked()).isEqualTo(1);
    assertThat(s.delayed()).isEqualTo(2);
    JsonNode listed = admin.get("/v1/queues").json().get("queues").get(0);
    assertThat(listed.get("queue").asText()).isEqualTo("orders");
    assertThat(listed.get("delayed").asInt()).isEqualTo(2);
    assertThat(admin.get("/v1/queues/orders").json().get("options").get("max_attempts").asInt())
        .isEqualTo(3);
  }

  @Test
  void longPollIsWokenBySendWithinMilliseconds(Broker broker) throws Exception {
    broker.createQueue("poll");
    // nothing there: an empty answer after the wait, not before
    long t0 = System.nanoTime();
    JsonNode empty =
        admin.post("/v1/queues/poll/receive", "{\"wait_ms\": 300}").json().get("messages");
    assertThat(empty).isEmpty();
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(ofMs(300));

    List<Long> latencies = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      CompletableFuture<ApiClient.Response> poll =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return admin.post("/v1/queues/poll/receive", "{\"wait_ms\": 15000}");
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      Thread.sleep(150); // the poll is waiting by now (if not, it finds the message at once)
      broker.send("poll", Map.of("i", i));
      long sentAt = System.nanoTime();
      ApiClient.Response r = poll.get();
      latencies.add((System.nanoTime() - sentAt) / 1_000_000);
      JsonNode m = r.json().get("messages").get(0);
      assertThat(m.get("payload").get("i").asInt()).isEqualTo(i);
      admin.post(
          "/v1/queues/poll/messages/" + m.get("id").asLong() + "/ack",
          "{\"lease\": \"" + m.get("lease").asText() + "\"}");
    }
    Collections.sort(latencies);
    System.out.printf(
        "long poll woken after send: median %d ms, max %d ms (20 polls)%n",
        latencies.get(10), latencies.get(19));
    // Woken by NOTIFY, not by the 15 s deadline. The target is 50 ms (measured: 26 ms median on
    // the 2-core development machine); the bounds are generous, for busy CI machines.
    assertThat(latencies.get(10)).isLessThan(1000);
    assertThat(latencies.get(19)).isLessThan(5000);
    assertThat(broker.stats("poll").acked()).isEqualTo(20);
  }

  @Test
  void nackIntoDeadLettersThenReplay(Broker broker) throws Exception {
    broker.createQueue("pay", QueueOptions.defaults().maxAttempts(1));
    long id =
        admin.post("/v1/queues/pay/messages", "{\"payload\": \"x\"}").json().get("id").asLong();
    JsonNode m = admin.post("/v1/queues/pay/receive", "{}").json().get("messages").get(0);
    assertThat(
            admin
                .post(
                    "/v1/queues/pay/messages/" + id + "/nack",
                    "{\"lease\": \"" + m.get("lease").asText() + "\", \"error\": \"bank down\"}")
                .status())
        .isEqualTo(200);

    JsonNode dead = admin.get("/v1/queues/pay/dead-letters").json().get("dead_letters");
    assertThat(dead).hasSize(1);
    assertThat(dead.get(0).get("id").asLong()).isEqualTo(id);
    assertThat(dead.get(0).get("last_error").asText()).isEqualTo("bank down");
    assertThat(dead.get(0).get("errors").get(0).get("error").asText()).isEqualTo("bank down");
    assertThat(admin.get("/v1/queues/pay/dead-letters/" + id).status()).isEqualTo(200);

    JsonNode replayed =
        admin.post("/v1/queues/pay/dead-letters/replay", "{\"ids\": [" + id + "]}").json();
    assertThat(replayed.get("replayed").asInt()).isEqualTo(1);
    assertThat(broker.stats("pay").dead()).isZero();
    JsonNode back = admin.post("/v1/queues/pay/receive", "{}").json().get("messages").get(0);
    assertThat(back.get("id").asLong()).isEqualTo(id);

    // purge: nack into the store again (an error holding NUL, which PostgreSQL text cannot
    // hold, is kept written out), then delete it for good
    assertThat(
            admin
                .post(
                    "/v1/queues/pay/messages/" + id + "/nack",
                    "{\"lease\": \""
                        + back.get("lease").asText()
                        + "\", \"error\": \"still\\u0000down\"}")
                .status())
        .isEqualTo(200);
    assertThat(admin.get("/v1/queues/pay/dead-letters/" + id).json().get("last_error").asText())
        .isEqualTo("still\\u0000down");
    assertThat(admin.post("/v1/queues/pay/dead-letters/purge", "{\"all\": true}").json().toString())
        .isEqualTo("{\"purged\":1}");
    assertThat(broker.stats("pay").dead()).isZero();
    assertThat(admin.get("/v1/queues/pay/dead-letters/" + id).status()).isEqualTo(404);
  }

  @Test
  void publishCopiesToEveryMatchingSubscription(Broker broker) throws Exception {
    admin.send("PUT", "/v1/topics/orders/subscriptions/billing", "{}");
    admin.send(
        "PUT", "/v1/topics/orders/subscriptions/paid-only", "{\"filter\": {\"type\": [\"paid\"]}}");
    JsonNode r =
        admin
            .post("/v1/topics/orders/publish", "{\"payload\": {\"n\": 1}, \"type\": \"paid\"}")
            .json();
    assertThat(r.get("copies").asInt()).isEqualTo(2);
    r = admin.post("/v1/topics/orders/publish", "{\"payloads\": [1, 2], \"type\": \"new\"}").json();
    assertThat(r.get("copies").asInt()).isEqualTo(2);
    assertThat(broker.stats("billing").ready()).isEqualTo(3);
    assertThat(broker.stats("paid-only").ready()).isEqualTo(1);
    JsonNode topics = admin.get("/v1/topics").json().get("topics");
    assertThat(topics.get(0).get("subscriptions")).hasSize(2);
    ApiClient.Response unknown = admin.post("/v1/topics/nope/publish", "{\"payload\": 1}");
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.json().get("code").asText()).isEqualTo("unknown_topic");
  }

  private static Duration ofMs(long ms) {
    return Duration.ofMillis(ms);
  }
}
