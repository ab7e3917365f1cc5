package dev.pgbroker.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgbroker.Broker;
import dev.pgbroker.Json;
import dev.pgbroker.QueueOptions;
import dev.pgbroker.QueueStats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Queues: list with stats, one queue's stats and settings, create or change, delete. */
final class QueueRoutes {
  private static final long MAX_MS = 1_000_000_000_000_000L;
  private static final Set<String> OPTION_KEYS =
      Set.of(
          "visibility_timeout_ms",
          "max_attempts",
          "backoff_ms",
          "backoff_base_ms",
          "backoff_max_ms",
          "dead_letter",
          "retention_ms",
          "dedup_window_ms",
          "max_payload_bytes",
          "notify_sql_sends");

  private final Broker broker;

  QueueRoutes(Broker broker) {
    this.broker = broker;
  }

  List<Route> routes() {
    return List.of(
        new Route("GET", "/v1/queues", Route.Access.READ, c -> list()),
        new Route("GET", "/v1/queues/{queue}", Route.Access.READ, this::get),
        new Route("PUT", "/v1/queues/{queue}", Route.Access.ADMIN, this::put),
        new Route("DELETE", "/v1/queues/{queue}", Route.Access.ADMIN, this::delete));
  }

  private Reply list() {
    List<Object> queues = new ArrayList<>();
    for (String q : broker.queues()) {
      queues.add(stats(broker.stats(q)));
    }
    return Reply.ok(Map.of("queues", queues));
  }

  private Reply get(Call call) {
    String queue = call.name("queue");
    Map<String, Object> body = stats(broker.stats(queue));
    body.put("options", options(broker.queueOptions(queue)));
    return Reply.ok(body);
  }

  private Reply put(Call call) throws Exception {
    String queue = call.name("queue");
    ObjectNode body = call.body();
    Fields.allowOnly(body, OPTION_KEYS);
    QueueOptions o = QueueOptions.defaults();
    Long visibility = Fields.optLong(body, "visibility_timeout_ms", 1, MAX_MS);
    if (visibility != null) {
      o = o.visibilityTimeout(Duration.ofMillis(visibility));
    }
    Integer attempts = Fields.optInt(body, "max_attempts", 1, Integer.MAX_VALUE);
    if (attempts != null) {
      o = o.maxAttempts(attempts);
    }
    List<Long> schedule = Fields.optLongs(body, "backoff_ms", 0, MAX_MS, 1000);
    if (schedule != null) {
      o = o.backoffSchedule(schedule.stream().map(Duration::ofMillis).toArray(Duration[]::new));
    }
    Long base = Fields.optLong(body, "backoff_base_ms", 0, MAX_MS);
    Long max = Fields.optLong(body, "backoff_max_ms", 0, MAX_MS);
    if ((base == null) != (max == null)) {
      throw ApiError.badRequest("backoff_base_ms and backoff_max_ms go together: give both");
    }
    if (base != null) {
      o = o.exponentialBackoff(Duration.ofMillis(base), Duration.ofMillis(max));
    }
    Boolean deadLetter = Fields.optBoolean(body, "dead_letter");
    if (deadLetter != null) {
      o = o.deadLetter(deadLetter);
    }
    Long retention = Fields.optLong(body, "retention_ms", 0, MAX_MS);
    if (retention != null) {
      o = o.retention(Duration.ofMillis(retention));
    }
    Long dedup = Fields.optLong(body, "dedup_window_ms", 0, MAX_MS);
    if (dedup != null) {
      o = o.dedupWindow(Duration.ofMillis(dedup));
    }
    Integer payload = Fields.optInt(body, "max_payload_bytes", 1, Integer.MAX_VALUE);
    if (payload != null) {
      o = o.maxPayloadBytes(payload);
    }
    Boolean notify = Fields.optBoolean(body, "notify_sql_sends");
    if (notify != null) {
      o = o.notifySqlSends(notify);
    }
    broker.createQueue(queue, o);
    return Reply.ok(Map.of("queue", queue, "options", options(broker.queueOptions(queue))));
  }

  private Reply delete(Call call) {
    return Reply.ok(Map.of("deleted", broker.deleteQueue(call.name("queue"))));
  }

  static Map<String, Object> stats(QueueStats s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("queue", s.queue());
    m.put("ready", s.ready());
    m.put("delayed", s.delayed());
    m.put("in_flight", s.inFlight());
    m.put("dead", s.dead());
    m.put("oldest_ready_age_ms", s.oldestReadyAge().toMillis());
    m.put("sent", s.sent());
    m.put("acked", s.acked());
    m.put("failed", s.failed());
    m.put("dead_lettered", s.deadLettered());
    return m;
  }

  private static Map<String, Object> options(QueueOptions o) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("visibility_timeout_ms", o.visibilityTimeout().toMillis());
    m.put("max_attempts", o.maxAttempts());
    m.put(
        "backoff_ms",
        o.backoffSchedule() == null || o.backoffSchedule().isEmpty()
            ? null
            : o.backoffSchedule().stream().map(Duration::toMillis).toList());
    m.put("backoff_base_ms", o.backoffBase().toMillis());
    m.put("backoff_max_ms", o.backoffMax().toMillis());
    m.put("dead_letter", o.deadLetter());
    m.put("retention_ms", o.retention().toMillis());
    m.put("dedup_window_ms", o.dedupWindow().toMillis());
    m.put("max_payload_bytes", o.maxPayloadBytes());
    m.put("notify_sql_sends", o.notifySqlSends());
    return m;
  }

  /** A request's JSON value as a payload, refusing an absent one. */
  static Json payload(JsonNode node, String field) {
    if (node == null) {
      throw ApiError.badRequest("field '" + field + "' is required: the message's JSON payload");
    }
    return Json.of(node.toString());
  }
}
