package dev.pgbroker.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgbroker.Broker;
import dev.pgbroker.QueueStats;
import dev.pgbroker.testing.BrokerExtension;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Requests the API refuses: a 4xx JSON error naming the problem, and nothing changed. */
@ExtendWith(BrokerExtension.class)
class RefusalTest {
  private HttpApi api;
  private ApiClient admin;

  @BeforeEach
  void start(Broker broker) throws Exception {
    api = Servers.start(broker);
    admin = new ApiClient(api.uri(), Servers.ADMIN);
    broker.createQueue("jobs");
    broker.send("jobs", Map.of("seed", 1));
  }

  @AfterEach
  void stop() {
    api.close();
  }

  @Test
  void noTokenOrAWrongOneIsRefusedEverywhereButHealthAndTheDashboardShell(Broker broker)
      throws Exception {
    String before = snapshot(broker);
    ApiClient none = admin.withToken(null);
    ApiClient wrong = admin.withToken("not-a-token-we-know-of");
    ApiClient almost = admin.withToken(Servers.ADMIN + "x");
    for (ApiClient c : List.of(none, wrong, almost)) {
      refused(c.get("/v1/queues"), 401, "unauthorized");
      refused(c.get("/metrics"), 401, "unauthorized");
      refused(c.post("/v1/queues/jobs/messages", "{\"payload\": 1}"), 401, "unauthorized");
      refused(c.post("/v1/queues/jobs/receive", "{}"), 401, "unauthorized");
      refused(c.post("/v1/queues/jobs/dead-letters/purge", "{\"all\": true}"), 401, "unauthorized");
    }
    assertThat(none.get("/health/live").status()).isEqualTo(200);
    assertThat(none.get("/health/ready").json().get("status").asText()).isEqualTo("ready");
    assertThat(none.get("/dashboard/").text()).contains("<title>pgbroker</title>");
    assertThat(snapshot(broker)).isEqualTo(before);
  }

  @Test
  void aReadOnlyTokenReadsButCannotWrite(Broker broker) throws Exception {
    String before = snapshot(broker);
    ApiClient reader = admin.withToken(Servers.READER);
    assertThat(reader.get("/v1/queues").status()).isEqualTo(200);
    assertThat(reader.get("/v1/queues/jobs/dead-letters").status()).isEqualTo(200);
    assertThat(reader.get("/metrics").text()).contains("pgbroker_queue_ready{queue=\"jobs\"} 1");
    refused(reader.post("/v1/queues/jobs/messages", "{\"payload\": 1}"), 403, "forbidden");
    refused(reader.post("/v1/queues/jobs/receive", "{}"), 403, "forbidden");
    refused(reader.send("PUT", "/v1/queues/other", "{}"), 403, "forbidden");
    refused(reader.send("DELETE", "/v1/queues/jobs", null), 403, "forbidden");
    refused(reader.post("/v1/topics/t/publish", "{\"payload\": 1}"), 403, "forbidden");
    assertThat(snapshot(broker)).isEqualTo(before);
  }

  @Test
  void badInputGetsAClearErrorAndChangesNothing(Broker broker) throws Exception {
    String before = snapshot(broker);
    refused(admin.post("/v1/queues/jobs/messages", "{\"payload\": "), 400, "malformed_json");
    refused(admin.post("/v1/queues/jobs/messages", "[1, 2]"), 400, "malformed_json");
    refused(admin.post("/v1/queues/jobs/messages", "{}"), 400, "invalid_argument");
    refused(
        admin.post("/v1/queues/jobs/messages", "{\"payload\": 1, \"delay\": 5}"),
        400,
        "invalid_argument",
        "unknown field 'delay'; allowed:");
    refused(
        admin.post("/v1/queues/jobs/messages", "{\"payload\": 1, \"delay_ms\": -1}"),
        400,
        "invalid_argument",
        "delay_ms");
    refused(
        admin.post("/v1/queues/jobs/messages", "{\"payload\": 1, \"priority\": \"high\"}"),
        400,
        "invalid_argument",
        "priority");
    refused(
        admin.post("/v1/queues/Bad%20Name/messages", "{\"payload\": 1}"),
        400,
        "invalid_argument",
        "queue name must be");
    refused(
        admin.post("/v1/queues/no-such-queue/messages", "{\"payload\": 1}"), 404, "unknown_queue");
    refused(
        admin.post("/v1/queues/jobs/receive", "{\"wait_ms\": 20001}"),
        400,
        "invalid_argument",
        "wait_ms");
    refused(
        admin.post("/v1/queues/jobs/messages/1/ack", "{\"lease\": \"nope\"}"),
        400,
        "invalid_argument",
        "lease");
    refused(
        admin.post("/v1/queues/jobs/dead-letters/replay", "{}"),
        400,
        "invalid_argument",
        "exactly one");
    String big = "{\"payload\": \"" + "x".repeat(70 * 1024) + "\"}";
    refused(admin.post("/v1/queues/jobs/messages", big), 413, "body_too_large");
    refused(admin.get("/v1/nothing-here"), 404, "not_found");
    refused(admin.send("DELETE", "/v1/queues/jobs/receive", null), 405, "method_not_allowed");
    assertThat(snapshot(broker)).isEqualTo(before);
  }

  private static void refused(ApiClient.Response r, int status, String code, String... words) {
    assertThat(r.status()).as(r.text()).isEqualTo(status);
    assertThat(r.json().get("code").asText()).isEqualTo(code);
    String message = r.json().get("message").asText();
    assertThat(message).isNotBlank().doesNotContain("Exception").doesNotContain("\tat ");
    for (String w : words) {
      assertThat(message).contains(w);
    }
  }

  /** Queues and every count of their messages, to compare before and after. */
  private static String snapshot(Broker broker) {
    StringBuilder s = new StringBuilder();
    for (String q : broker.queues()) {
      QueueStats st = broker.stats(q);
      s.append(q)
          .append(st.ready())
          .append('/')
          .append(st.delayed())
          .append('/')
          .append(st.inFlight())
          .append('/')
          .append(st.dead())
          .append('/')
          .append(st.sent())
          .append(';');
    }
    return s.toString();
  }
}
