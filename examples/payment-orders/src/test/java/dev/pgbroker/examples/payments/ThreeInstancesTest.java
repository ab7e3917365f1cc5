package dev.pgbroker.examples.payments;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.JavaProcess;
import dev.pgbroker.testing.TestDatabase;
import dev.pgbroker.testing.TestSchema;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The example as it runs in production: three instances of the application, each its own JVM, share
 * one database. Orders are placed over HTTP across them; one instance is killed with SIGKILL while
 * it is completing orders; every order must still end COMPLETED exactly once. An order with a
 * blocked card goes to the dead-letter store and, once the card is unblocked, is replayed. A sweep
 * scheduled every 2 s runs once per tick across the instances.
 */
@ExtendWith(BrokerExtension.class)
class ThreeInstancesTest {
  private static final int ORDERS = 600;
  private static final String BLOCKED_CARD = "4000-0000-0000-0002";
  private static final Duration WAIT = Duration.ofSeconds(120);
  // Three Spring Boot JVMs starting at once on two cores that others' builds keep busy (load 80)
  // have taken nearly four minutes; alone they take seconds.
  private static final Duration START = Duration.ofMinutes(8);

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final ObjectMapper json = new ObjectMapper();

  @Test
  void threeInstancesCompleteEachOrderOnceThoughOneIsKilled(TestSchema schema) throws Exception {
    String app = schema.name() + "_app";
    List<Process> processes = new ArrayList<>();
    List<Integer> ports = new ArrayList<>();
    File logs = new File("target/instances");
    logs.mkdirs();
    try {
      for (int i = 0; i < 3; i++) {
        int port = freePort();
        ports.add(port);
        processes.add(
            JavaProcess.of(PaymentOrdersApplication.class)
                // The quick compiler only: a shorter start for a short-lived process.
                .env("JAVA_TOOL_OPTIONS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
                .log(new File(logs, schema.name() + "-" + i + ".log"))
                .run(
                    "--server.port=" + port,
                    "--spring.datasource.url=" + TestDatabase.jdbcUrl(),
                    "--pgbroker.schema=" + schema.name(),
                    "--payment-orders.schema=" + app,
                    "--payment-orders.instance=instance-" + i,
                    "--payment-orders.processing-time=50ms",
                    "--payment-orders.sweep-every=2s",
                    "--pgbroker.queues.payment-orders.visibility-timeout=3s",
                    "--pgbroker.queues.payment-orders.backoff-schedule=100ms",
                    "--pgbroker.worker.poll-interval=200ms"));
      }
      for (int i = 0; i < 3; i++) {
        int port = ports.get(i);
        Process p = processes.get(i);
        await()
            .atMost(START)
            .pollInterval(Duration.ofMillis(500))
            .until(
                () -> {
                  assertThat(p.isAlive()).as("instance on port " + port + " exited").isTrue();
                  return healthUp(port);
                });
      }
      assertThat(post(ports.get(0), "/orders", Map.of("customer", "x", "amount", -5, "card", "1")))
          .startsWith("400")
          .contains("amount must be > 0, was -5");
      assertThat(send(ports.get(0), "PUT", "/blocked-cards/" + BLOCKED_CARD)).startsWith("200");

      Process victim = processes.get(2);
      boolean killed = false;
      for (int n = 0; n < ORDERS; n++) {
        if (!killed && completedBy(schema, "instance-2") >= 20) {
          victim.destroyForcibly(); // SIGKILL: no shutdown hook, no drain, leases left held
          assertThat(victim.waitFor()).isEqualTo(137);
          killed = true;
        }
        int port = ports.get(n % (killed ? 2 : 3));
        Map<String, Object> order = Map.of("customer", "c" + n, "amount", "12.50", "card", "4242");
        assertThat(post(port, "/orders", order)).startsWith("201");
      }
      assertThat(killed).as("instance-2 completed 20 orders before the orders ran out").isTrue();
      assertThat(
              post(
                  ports.get(1),
                  "/orders",
                  Map.of("customer", "z", "amount", 1, "card", BLOCKED_CARD)))
          .startsWith("201");

      String orders = "%s_app.payment_order";
      await()
          .atMost(WAIT)
          .until(
              () ->
                  schema.count("select count(*) from " + orders + " where status = 'COMPLETED'")
                      == ORDERS);
      assertThat(schema.count("select count(*) from " + orders)).isEqualTo(ORDERS + 1);
      assertThat(schema.count("select count(*) from " + orders + " where completions > 1"))
          .isZero();
      assertThat(schema.count("select coalesce(sum(completions), 0) from " + orders))
          .isEqualTo(ORDERS);
      for (String survivor : List.of("instance-0", "instance-1")) {
        assertThat(completedBy(schema, survivor)).as(survivor).isPositive();
      }

      // The blocked card's order: three attempts, then the dead letters; replayed once unblocked.
      await().atMost(WAIT).until(() -> get(ports.get(0), "/dead-letters").contains("is blocked"));
      assertThat(schema.count("select count(*) from " + orders + " where status = 'PENDING'"))
          .isEqualTo(1);
      assertThat(send(ports.get(1), "DELETE", "/blocked-cards/" + BLOCKED_CARD)).contains("true");
      assertThat(post(ports.get(0), "/dead-letters/replay", Map.of())).contains("\"replayed\":1");
      await()
          .atMost(WAIT)
          .until(
              () ->
                  schema.count("select count(*) from " + orders + " where status = 'COMPLETED'")
                      == ORDERS + 1);
      assertThat(schema.count("select count(*) from " + orders + " where completions <> 1"))
          .isZero();
      assertThat(get(ports.get(1), "/orders/summary")).contains("\"completedMoreThanOnce\":0");

      // The sweep every 2 s ran on one instance per tick, the killed one's ticks included.
      String sweeps = "%s_app.sweep_run";
      assertThat(schema.count("select count(distinct tick) from " + sweeps))
          .isGreaterThanOrEqualTo(3);
      assertThat(schema.count("select count(*) from " + sweeps))
          .isEqualTo(schema.count("select count(distinct tick) from " + sweeps));
    } finally {
      processes.forEach(Process::destroyForcibly);
      for (Process p : processes) {
        p.waitFor();
      }
      schema.execute("drop schema if exists %s_app cascade");
    }
  }

  private static long completedBy(TestSchema schema, String instance) {
    return schema.count(
        "select count(*) from %s_app.payment_order where completed_by = '" + instance + "'");
  }

  private boolean healthUp(int port) {
    try {
      return get(port, "/actuator/health").contains("\"status\":\"UP\"");
    } catch (IOException notListeningYet) {
      return false;
    }
  }

  private String get(int port, String path) throws IOException {
    return send(port, "GET", path);
  }

  private String send(int port, String method, String path) throws IOException {
    return exchange(
        HttpRequest.newBuilder(uri(port, path))
            .method(method, HttpRequest.BodyPublishers.noBody()));
  }

  /** Returns "STATUS BODY". */
  private String post(int port, String path, Map<String, Object> body) throws IOException {
    return exchange(
        HttpRequest.newBuilder(uri(port, path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json.writeValueAsString(body))));
  }

  private String exchange(HttpRequest.Builder request) throws IOException {
    try {
      HttpResponse<String> r =
          http.send(
              request.timeout(Duration.ofSeconds(30)).build(),
              HttpResponse.BodyHandlers.ofString());
      return r.statusCode() + " " + r.body();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  private static URI uri(int port, String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
