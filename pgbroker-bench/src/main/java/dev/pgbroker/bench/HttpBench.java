package dev.pgbroker.bench;

import static dev.pgbroker.bench.PgbrokerScenarios.QUEUE;
import static dev.pgbroker.bench.PgbrokerScenarios.count;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgbroker.Broker;
import dev.pgbroker.Delivery;
import dev.pgbroker.SendOptions;
import dev.pgbroker.bench.Load.Measured;
import dev.pgbroker.bench.Load.Msg;
import dev.pgbroker.server.http.ApiSettings;
import dev.pgbroker.server.http.HttpApi;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;

/**
 * The HTTP API against the Java API in the same run, doing the same work: one producer sends
 * batches of {@value #BATCH}, {@value #CONSUMERS} consumers each receive up to {@value #RECEIVE}
 * (HTTP: a long poll) and acknowledge every message on its own (HTTP: one request each), then the
 * same with each receive's messages acknowledged together (HTTP: one {@code POST .../ack}; Java:
 * {@code ackAll}). A tenth of --messages per row; each row counts acknowledged messages per second
 * and checks none was lost.
 */
final class HttpBench {
  private static final int BATCH = 100;
  private static final int RECEIVE = 10;
  private static final int CONSUMERS = 8;
  private static final String TOKEN = "bench-admin-token-0123456789";

  private final PgbrokerScenarios pgbroker;
  private final Sizes sizes;
  private final Progress progress;
  private final ObjectMapper json = new ObjectMapper();

  HttpBench(Server server, Sizes sizes, Progress progress) {
    this.pgbroker = new PgbrokerScenarios(server, sizes, progress);
    this.sizes = sizes;
    this.progress = progress;
  }

  void run(Results r) {
    int n = Math.max(1_000, sizes.messages() / 10);
    String what =
        count(n)
            + " messages: send batches of "
            + BATCH
            + ", "
            + CONSUMERS
            + " consumers receive up to "
            + RECEIVE
            + " and ack ";
    Load.rate(
        r,
        progress,
        "pgbroker.http_java",
        "pgbroker Java API (the HTTP row's reference): " + what + "each",
        () -> pgbroker.fresh((b, ds) -> java(b, n, false)));
    Load.rate(
        r,
        progress,
        "pgbroker.http",
        "pgbroker over HTTP (long-poll receive, one request per ack): " + what + "each",
        () -> pgbroker.fresh((b, ds) -> http(b, ds, n, false)));
    Load.rate(
        r,
        progress,
        "pgbroker.http_java_batch_ack",
        "pgbroker Java API (the next row's reference): " + what + "them together (ackAll)",
        () -> pgbroker.fresh((b, ds) -> java(b, n, true)));
    Load.rate(
        r,
        progress,
        "pgbroker.http_batch_ack",
        "pgbroker over HTTP (long-poll receive, one batch ack request per receive): "
            + what
            + "them together",
        () -> pgbroker.fresh((b, ds) -> http(b, ds, n, true)));
  }

  private Measured java(Broker broker, int n, boolean batchAck) throws Exception {
    progress.phase("pgbroker: " + count(n) + " through the Java API");
    AtomicLong acked = new AtomicLong();
    long nanos =
        Load.parallel(
            CONSUMERS + 1,
            t -> {
              if (t == 0) {
                for (int sent = 0; sent < n; sent += BATCH) {
                  List<Msg> batch = new ArrayList<>();
                  for (int i = sent; i < Math.min(n, sent + BATCH); i++) {
                    batch.add(new Msg(i));
                  }
                  broker.sendBatch(QUEUE, batch, SendOptions.none());
                }
                return;
              }
              while (acked.get() < n) {
                List<Delivery> got = broker.read(QUEUE, RECEIVE);
                if (got.isEmpty()) {
                  Thread.sleep(1); // the HTTP consumers long-poll; these should not spin either
                } else if (batchAck) {
                  if (!broker.ackAll(got).isEmpty()) {
                    throw new IllegalStateException("a lease ran out in the benchmark");
                  }
                  progress.update(String.format("%,d", acked.addAndGet(got.size())));
                  continue;
                }
                for (Delivery d : got) {
                  broker.ack(d);
                  progress.update(String.format("%,d", acked.incrementAndGet()));
                }
              }
            });
    return checked(broker, n, nanos);
  }

  private Measured http(Broker broker, DataSource ds, int n, boolean batchAck) throws Exception {
    try (HttpApi api =
        HttpApi.start(
            broker,
            ds,
            new ApiSettings(
                "127.0.0.1", 0, List.of(TOKEN), List.of(), ApiSettings.DEFAULT_MAX_BODY_BYTES))) {
      URI base = api.uri().resolve("/v1/queues/" + QUEUE + "/");
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      progress.phase("pgbroker: " + count(n) + " over HTTP");
      AtomicLong acked = new AtomicLong();
      long nanos =
          Load.parallel(
              CONSUMERS + 1,
              t -> {
                if (t == 0) {
                  for (int sent = 0; sent < n; sent += BATCH) {
                    StringBuilder body = new StringBuilder("{\"payloads\":[");
                    for (int i = sent; i < Math.min(n, sent + BATCH); i++) {
                      body.append(i == sent ? "" : ",").append(Load.payload(i));
                    }
                    post(client, base.resolve("messages/batch"), body.append("]}").toString());
                  }
                  return;
                }
                while (acked.get() < n) {
                  JsonNode got =
                      post(
                          client,
                          base.resolve("receive"),
                          "{\"max_messages\":" + RECEIVE + ",\"wait_ms\":1000}");
                  if (batchAck && !got.get("messages").isEmpty()) {
                    ackTogether(client, base, got.get("messages"));
                    progress.update(
                        String.format("%,d", acked.addAndGet(got.get("messages").size())));
                    continue;
                  }
                  for (JsonNode m : got.get("messages")) {
                    post(
                        client,
                        base.resolve("messages/" + m.get("id").asLong() + "/ack"),
                        "{\"lease\":\"" + m.get("lease").asText() + "\"}");
                    progress.update(String.format("%,d", acked.incrementAndGet()));
                  }
                }
              });
      return checked(broker, n, nanos);
    }
  }

  /** One {@code POST .../ack} for everything a receive returned; every lease must still hold. */
  private void ackTogether(HttpClient client, URI base, JsonNode messages) throws Exception {
    StringBuilder body = new StringBuilder("{\"messages\":[");
    String separator = "";
    for (JsonNode m : messages) {
      body.append(separator)
          .append("{\"id\":")
          .append(m.get("id").asLong())
          .append(",\"lease\":\"")
          .append(m.get("lease").asText())
          .append("\"}");
      separator = ",";
    }
    JsonNode answer = post(client, base.resolve("ack"), body.append("]}").toString());
    if (!answer.get("stale").isEmpty()) {
      throw new IllegalStateException("a lease ran out in the benchmark: " + answer);
    }
  }

  private JsonNode post(HttpClient client, URI uri, String body) throws Exception {
    HttpResponse<byte[]> r =
        client.send(
            HttpRequest.newBuilder(uri)
                .header("Authorization", "Bearer " + TOKEN)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    if (r.statusCode() >= 300) {
      throw new IllegalStateException(
          uri + " answered " + r.statusCode() + ": " + new String(r.body()));
    }
    return json.readTree(r.body());
  }

  /** Every message acknowledged exactly once, by the database's own count. */
  private static Measured checked(Broker broker, int n, long nanos) {
    long acked = broker.stats(QUEUE).acked();
    if (acked != n) {
      throw new IllegalStateException("sent " + n + " but the queue counts " + acked + " acked");
    }
    return new Measured(n, nanos, null, Map.of("consumers", CONSUMERS));
  }
}
