package dev.pgbroker.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgbroker.Broker;
import dev.pgbroker.Delivery;
import dev.pgbroker.Json;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Sending, publishing, receiving with long polling, and settling by lease. A long poll reads once,
 * and while nothing is there waits on {@link WakeHub} for a notification naming its queue, reading
 * again after each, until a message comes or {@code wait_ms} runs out.
 */
final class MessageRoutes {
  static final int MAX_WAIT_MS = 20_000;
  static final int MAX_RECEIVE = 1000;
  static final int MAX_BATCH = 10_000;
  private static final long MAX_MS = 1_000_000_000_000_000L;

  private final Broker broker;
  private final WakeHub wakeHub;
  private final Settlements settlements;

  MessageRoutes(Broker broker, WakeHub wakeHub, Settlements settlements) {
    this.broker = broker;
    this.wakeHub = wakeHub;
    this.settlements = settlements;
  }

  List<Route> routes() {
    return List.of(
        new Route("POST", "/v1/queues/{queue}/messages", Route.Access.ADMIN, this::send),
        new Route("POST", "/v1/queues/{queue}/messages/batch", Route.Access.ADMIN, this::batch),
        new Route("POST", "/v1/queues/{queue}/receive", Route.Access.ADMIN, this::receive),
        new Route("POST", "/v1/queues/{queue}/messages/{id}/ack", Route.Access.ADMIN, this::ack),
        new Route("POST", "/v1/queues/{queue}/messages/{id}/nack", Route.Access.ADMIN, this::nack),
        new Route(
            "POST", "/v1/queues/{queue}/messages/{id}/extend", Route.Access.ADMIN, this::extend),
        new Route("POST", "/v1/topics/{topic}/publish", Route.Access.ADMIN, this::publish));
  }

  private Reply send(Call call) throws Exception {
    String queue = call.name("queue");
    ObjectNode body = call.body();
    Fields.allowOnly(body, with(SendOptionsJson.KEYS, "payload"));
    Json payload = QueueRoutes.payload(body.get("payload"), "payload");
    long id = broker.send(queue, payload, SendOptionsJson.read(body));
    return Reply.of(201, Map.of("id", id));
  }

  private Reply batch(Call call) throws Exception {
    String queue = call.name("queue");
    ObjectNode body = call.body();
    Fields.allowOnly(body, with(SendOptionsJson.KEYS, "payloads"));
    List<Json> payloads = payloads(body);
    List<Long> ids = broker.sendBatch(queue, payloads, SendOptionsJson.read(body));
    return Reply.of(201, Map.of("ids", ids));
  }

  private Reply publish(Call call) throws Exception {
    String topic = call.name("topic");
    ObjectNode body = call.body();
    Fields.allowOnly(body, with(SendOptionsJson.KEYS, "payload", "payloads"));
    if (body.has("payload") == body.has("payloads")) {
      throw ApiError.badRequest("give exactly one of 'payload' and 'payloads'");
    }
    List<Json> payloads =
        body.has("payload")
            ? List.of(QueueRoutes.payload(body.get("payload"), "payload"))
            : payloads(body);
    int copies = broker.publishBatch(topic, payloads, SendOptionsJson.read(body));
    return Reply.ok(Map.of("copies", copies));
  }

  private static List<Json> payloads(ObjectNode body) {
    JsonNode array = body.get("payloads");
    if (array == null || !array.isArray() || array.isEmpty() || array.size() > MAX_BATCH) {
      throw ApiError.badRequest(
          "field 'payloads' must be an array of 1 to " + MAX_BATCH + " JSON payloads");
    }
    List<Json> payloads = new ArrayList<>(array.size());
    for (JsonNode p : array) {
      payloads.add(Json.of(p.toString()));
    }
    return payloads;
  }

  private Reply receive(Call call) throws Exception {
    String queue = call.name("queue");
    ObjectNode body = call.body();
    Fields.allowOnly(body, Set.of("max_messages", "wait_ms", "visibility_timeout_ms"));
    Integer max = Fields.optInt(body, "max_messages", 1, MAX_RECEIVE);
    Integer waitMs = Fields.optInt(body, "wait_ms", 0, MAX_WAIT_MS);
    Long visibility = Fields.optLong(body, "visibility_timeout_ms", 1, MAX_MS);
    int n = max == null ? 1 : max;
    long deadline = System.nanoTime() + (waitMs == null ? 0 : waitMs) * 1_000_000L;
    while (true) {
      long seen = wakeHub.generation(queue); // before reading, so a send in between still wakes
      List<Delivery> got =
          visibility == null
              ? broker.read(queue, n)
              : broker.read(queue, n, Duration.ofMillis(visibility));
      if (!got.isEmpty()
          || System.nanoTime() >= deadline
          || !wakeHub.await(queue, seen, deadline)) { // false: the server is closing
        return Reply.ok(Map.of("messages", deliveries(call, got)));
      }
    }
  }

  private static List<Object> deliveries(Call call, List<Delivery> got) throws Exception {
    List<Object> out = new ArrayList<>(got.size());
    for (Delivery d : got) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("id", d.id());
      m.put("lease", d.lease().toString());
      m.put("attempt", d.attempt());
      m.put("payload", call.mapper().readTree(d.payloadJson()));
      m.put("headers", d.headers());
      m.put("enqueued_at", d.enqueuedAt().toString());
      m.put("priority", d.priority());
      m.put("ordering_key", d.orderingKey());
      out.add(m);
    }
    return out;
  }

  private Reply ack(Call call) throws Exception {
    Lease l = lease(call, Set.of("lease"));
    return settled(settlements.ack(l.queue, l.id, l.lease), "acked", l);
  }

  private Reply nack(Call call) throws Exception {
    Lease l = lease(call, Set.of("lease", "error", "delay_ms"));
    String error = Fields.optString(l.body, "error");
    Long delay = Fields.optLong(l.body, "delay_ms", 0, MAX_MS);
    return settled(settlements.nack(l.queue, l.id, l.lease, error, delay), "nacked", l);
  }

  private Reply extend(Call call) throws Exception {
    Lease l = lease(call, Set.of("lease", "extend_ms"));
    Long ms = Fields.optLong(l.body, "extend_ms", 1, MAX_MS);
    if (ms == null) {
      throw ApiError.badRequest("field 'extend_ms' is required: how long to keep the lease, in ms");
    }
    return settled(settlements.extend(l.queue, l.id, l.lease, ms), "extended", l);
  }

  private static Reply settled(boolean done, String what, Lease l) {
    if (!done) {
      throw new ApiError(
          409,
          "stale_lease",
          "message "
              + l.id
              + " in queue "
              + l.queue
              + " is not leased with "
              + l.lease
              + ": the lease ran out (and the message may have been delivered again), or it was"
              + " already settled");
    }
    return Reply.ok(Map.of(what, true));
  }

  private record Lease(String queue, long id, UUID lease, ObjectNode body) {}

  private static Lease lease(Call call, Set<String> allowed) throws Exception {
    String queue = call.name("queue");
    long id = call.id("id");
    ObjectNode body = call.body();
    Fields.allowOnly(body, allowed);
    String text = Fields.optString(body, "lease");
    if (text == null) {
      throw ApiError.badRequest("field 'lease' is required: the lease token receive returned");
    }
    try {
      return new Lease(queue, id, UUID.fromString(text), body);
    } catch (IllegalArgumentException e) {
      throw ApiError.badRequest(
          "field 'lease' must be the UUID receive returned, was '" + Call.abbreviate(text) + "'");
    }
  }

  private static Set<String> with(Set<String> keys, String... more) {
    Set<String> all = new HashSet<>(keys);
    all.addAll(List.of(more));
    return all;
  }
}
