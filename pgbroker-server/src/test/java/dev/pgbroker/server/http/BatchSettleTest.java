package dev.pgbroker.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgbroker.Broker;
import dev.pgbroker.QueueOptions;
import dev.pgbroker.QueueStats;
import dev.pgbroker.testing.BrokerExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@code POST /v1/queues/{queue}/ack} and {@code .../nack}: many settles in one request. */
@ExtendWith(BrokerExtension.class)
class BatchSettleTest {
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
  }

  record Held(long id, String lease) {
    String json() {
      return "{\"id\": " + id + ", \"lease\": \"" + lease + "\"}";
    }
  }

  private List<Held> receive(String queue, int max, String more) throws Exception {
    JsonNode got =
        admin
            .post("/v1/queues/" + queue + "/receive", "{\"max_messages\": " + max + more + "}")
            .json()
            .get("messages");
    List<Held> held = new ArrayList<>();
    for (JsonNode m : got) {
      held.add(new Held(m.get("id").asLong(), m.get("lease").asText()));
    }
    return held;
  }

  private static String body(List<Held> held) {
    List<String> items = new ArrayList<>();
    held.forEach(h -> items.add(h.json()));
    return "{\"messages\": [" + String.join(", ", items) + "]}";
  }

  @Test
  void acksWhatIsHeldAndNamesTheStaleOnes(Broker broker) throws Exception {
    broker.createQueue("orders");
    for (int i = 0; i < 12; i++) {
      broker.send("orders", Map.of("n", i));
    }
    List<Held> first = receive("orders", 10, "");
    assertThat(first).hasSize(10);
    // settled already: acked one by one before the batch
    Held settled = first.get(0);
    assertThat(admin.post("/v1/queues/orders/messages/" + settled.id + "/ack", lease(settled)))
        .extracting(ApiClient.Response::status)
        .isEqualTo(200);
    // ran out and delivered again: the old lease is stale, the new one must survive the batch
    List<Held> expired = receive("orders", 2, ", \"visibility_timeout_ms\": 1");
    Thread.sleep(50);
    List<Held> again = receive("orders", 2, ", \"visibility_timeout_ms\": 60000");
    assertThat(again).extracting(Held::id).containsExactlyInAnyOrderElementsOf(ids(expired));

    List<Held> batch = new ArrayList<>(first);
    batch.addAll(expired);
    JsonNode r = admin.post("/v1/queues/orders/ack", body(batch)).json();
    assertThat(longs(r.get("acked"))).containsExactlyElementsOf(ids(first.subList(1, 10)));
    assertThat(longs(r.get("stale")))
        .containsExactly(settled.id, expired.get(0).id, expired.get(1).id);

    QueueStats s = broker.stats("orders");
    assertThat(s.acked()).isEqualTo(10); // the single ack and nine in the batch
    assertThat(s.inFlight()).isEqualTo(2); // the redelivered two, under their new leases
    assertThat(s.ready()).isZero();
    for (Held h : first) {
      assertThat(broker.messages("orders").find(h.id)).as("acked %d", h.id).isEmpty();
    }
    // the same batch again: everything in it is stale now, nothing changes
    r = admin.post("/v1/queues/orders/ack", body(batch)).json();
    assertThat(r.get("acked")).isEmpty();
    assertThat(r.get("stale")).hasSize(12);
    assertThat(broker.stats("orders").acked()).isEqualTo(10);
    // the redelivered two, acked with their new leases
    r = admin.post("/v1/queues/orders/ack", body(again)).json();
    assertThat(longs(r.get("acked"))).containsExactlyElementsOf(ids(again));
    assertThat(broker.stats("orders").acked()).isEqualTo(12);
  }

  @Test
  void nacksRetryOrDeadLetterEachWithItsOwnError(Broker broker) throws Exception {
    broker.createQueue("pay", QueueOptions.defaults().maxAttempts(2));
    broker.sendBatch("pay", List.of(1, 2, 3));
    List<Held> held = receive("pay", 3, "");
    String body =
        "{\"messages\": [{\"id\": "
            + held.get(0).id
            + ", \"lease\": \""
            + held.get(0).lease
            + "\", \"error\": \"bank down\", \"delay_ms\": 0},"
            + " {\"id\": "
            + held.get(1).id
            + ", \"lease\": \""
            + held.get(1).lease
            + "\", \"error\": \"card declined\", \"delay_ms\": 3600000}]}";
    JsonNode r = admin.post("/v1/queues/pay/nack", body).json();
    assertThat(longs(r.get("retried"))).containsExactly(held.get(0).id, held.get(1).id);
    assertThat(r.get("dead_lettered")).isEmpty();
    assertThat(r.get("stale")).isEmpty();
    QueueStats s = broker.stats("pay");
    assertThat(s.ready()).isEqualTo(1); // the first, due at once
    assertThat(s.delayed()).isEqualTo(1); // the second, in an hour
    assertThat(s.inFlight()).isEqualTo(1); // the third, untouched
    assertThat(s.failed()).isEqualTo(2);

    // the first again, on its last attempt, beside a stale lease: dead-lettered with its error
    Held last = receive("pay", 1, "").get(0);
    assertThat(last.id).isEqualTo(held.get(0).id);
    r =
        admin
            .post(
                "/v1/queues/pay/nack",
                "{\"messages\": [{\"id\": "
                    + last.id
                    + ", \"lease\": \""
                    + last.lease
                    + "\", \"error\": \"still down\"}, "
                    + held.get(1).json()
                    + "]}")
            .json();
    assertThat(longs(r.get("dead_lettered"))).containsExactly(last.id);
    assertThat(longs(r.get("stale"))).containsExactly(held.get(1).id);
    assertThat(broker.deadLetters("pay").find(last.id).orElseThrow().errors())
        .extracting(e -> e.error())
        .containsExactly("bank down", "still down");
  }

  @Test
  void badBodiesAreRefusedAndChangeNothing(Broker broker) throws Exception {
    broker.createQueue("orders");
    broker.sendBatch("orders", List.of(1, 2, 3));
    List<Held> held = receive("orders", 3, "");
    String good = held.get(0).json();
    String[][] refused = {
      {"not json", "malformed_json"},
      {"[" + good + "]", "malformed_json"},
      {"{}", "field 'messages' must be an array of 1 to 1000"},
      {"{\"messages\": []}", "field 'messages' must be an array of 1 to 1000"},
      {"{\"messages\": [" + good + "], \"wait\": 1}", "unknown field 'wait'"},
      {"{\"messages\": [" + good + ", 7]}", "messages[1] must be an object"},
      {"{\"messages\": [" + good + ", {\"id\": 2}]}", "messages[1]: field 'lease' is required"},
      {
        "{\"messages\": [" + good + ", {\"id\": 2, \"lease\": \"nope\"}]}",
        "messages[1]: field 'lease' must be the UUID"
      },
      {
        "{\"messages\": [" + good + ", {\"id\": -2, \"lease\": \"" + held.get(1).lease + "\"}]}",
        "messages[1]: field 'id' must be from 1"
      },
      {"{\"messages\": [" + good + ", " + good + "]}", "messages[1]: message " + held.get(0).id},
      {
        "{\"messages\": [" + held.get(1).json().replace("}", ", \"error\": \"x\"}") + "]}",
        "messages[0]: unknown field 'error'"
      },
    };
    for (String[] c : refused) {
      ApiClient.Response r = admin.post("/v1/queues/orders/ack", c[0]);
      assertThat(r.status()).as(c[0]).isEqualTo(400);
      assertThat(r.json().get("code").asText() + " " + r.json().get("message").asText())
          .as(c[0])
          .contains(c[1]);
    }
    StringBuilder tooMany = new StringBuilder("{\"messages\": [");
    for (int i = 1; i <= 1001; i++) {
      tooMany.append(i == 1 ? "" : ",").append(new Held(i, held.get(0).lease).json());
    }
    assertThat(admin.post("/v1/queues/orders/ack", tooMany + "]}").status()).isEqualTo(400);
    ApiClient.Response badNack =
        admin.post(
            "/v1/queues/orders/nack",
            "{\"messages\": [" + good.replace("}", ", \"delay_ms\": -1}") + "]}");
    assertThat(badNack.status()).isEqualTo(400);
    assertThat(badNack.json().get("message").asText())
        .contains("messages[0]: field 'delay_ms' must be from 0");

    ApiClient.Response unknown = admin.post("/v1/queues/nope/ack", body(held));
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.json().get("code").asText()).isEqualTo("unknown_queue");
    ApiClient.Response badName = admin.post("/v1/queues/No!/ack", body(held));
    assertThat(badName.status()).isEqualTo(400);
    ApiClient.Response reader =
        admin.withToken(Servers.READER).post("/v1/queues/orders/ack", body(held));
    assertThat(reader.status()).isEqualTo(403);

    QueueStats s = broker.stats("orders");
    assertThat(s.inFlight()).isEqualTo(3);
    assertThat(s.acked()).isZero();
    assertThat(s.failed()).isZero();
    // the leases still hold after all that
    assertThat(longs(admin.post("/v1/queues/orders/ack", body(held)).json().get("acked")))
        .containsExactlyElementsOf(ids(held));
  }

  private static String lease(Held h) {
    return "{\"lease\": \"" + h.lease + "\"}";
  }

  private static List<Long> ids(List<Held> held) {
    return held.stream().map(Held::id).toList();
  }

  private static List<Long> longs(JsonNode array) {
    List<Long> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asLong()));
    return out;
  }
}
