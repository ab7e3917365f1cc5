package dev.pgbroker.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Ack and nack of many deliveries in one request, as a consumer holds them after a receive: one
 * statement settles every message whose lease still holds, and the answer names the stale ones
 * instead of refusing the request, so one expired lease does not cost the others their settle. The
 * whole body is checked before anything is settled: a bad entry changes nothing.
 */
final class BatchSettleRoutes {
  /** As many as one receive returns. */
  static final int MAX_MESSAGES = MessageRoutes.MAX_RECEIVE;

  private static final long MAX_MS = 1_000_000_000_000_000L;

  private final Settlements settlements;

  BatchSettleRoutes(Settlements settlements) {
    this.settlements = settlements;
  }

  List<Route> routes() {
    return List.of(
        new Route("POST", "/v1/queues/{queue}/ack", Route.Access.ADMIN, this::ack),
        new Route("POST", "/v1/queues/{queue}/nack", Route.Access.ADMIN, this::nack));
  }

  private Reply ack(Call call) throws Exception {
    String queue = call.name("queue");
    List<Settlements.Settle> batch = messages(call.body(), Set.of("id", "lease"));
    Map<Long, String> settled = settlements.ackAll(queue, batch);
    List<Long> acked = new ArrayList<>();
    List<Long> stale = new ArrayList<>();
    for (Settlements.Settle s : batch) {
      (settled.containsKey(s.id()) ? acked : stale).add(s.id());
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("acked", acked);
    out.put("stale", stale);
    return Reply.ok(out);
  }

  private Reply nack(Call call) throws Exception {
    String queue = call.name("queue");
    List<Settlements.Settle> batch =
        messages(call.body(), Set.of("id", "lease", "error", "delay_ms"));
    Map<Long, String> settled = settlements.nackAll(queue, batch);
    List<Long> retried = new ArrayList<>();
    List<Long> dead = new ArrayList<>();
    List<Long> stale = new ArrayList<>();
    for (Settlements.Settle s : batch) {
      String outcome = settled.get(s.id());
      (outcome == null ? stale : "dead".equals(outcome) ? dead : retried).add(s.id());
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("retried", retried);
    out.put("dead_lettered", dead);
    out.put("stale", stale);
    return Reply.ok(out);
  }

  /** {@code {"messages": [{"id", "lease", ...}, ...]}}, every entry checked, no id twice. */
  private static List<Settlements.Settle> messages(ObjectNode body, Set<String> allowed) {
    Fields.allowOnly(body, Set.of("messages"));
    JsonNode array = body.get("messages");
    if (array == null || !array.isArray() || array.isEmpty() || array.size() > MAX_MESSAGES) {
      throw ApiError.badRequest(
          "field 'messages' must be an array of 1 to "
              + MAX_MESSAGES
              + " objects {\"id\", \"lease\"} as receive returned them");
    }
    List<Settlements.Settle> batch = new ArrayList<>(array.size());
    Set<Long> seen = new HashSet<>();
    for (int i = 0; i < array.size(); i++) {
      JsonNode item = array.get(i);
      if (!item.isObject()) {
        throw ApiError.badRequest(
            "messages[" + i + "] must be an object, was " + Call.abbreviate(item.toString()));
      }
      ObjectNode m = (ObjectNode) item;
      try {
        Fields.allowOnly(m, allowed);
        Long id = Fields.optLong(m, "id", 1, Long.MAX_VALUE);
        if (id == null) {
          throw ApiError.badRequest("field 'id' is required: the message id receive returned");
        }
        if (!seen.add(id)) {
          throw ApiError.badRequest("message " + id + " is listed twice");
        }
        String error = Fields.optString(m, "error");
        Long delayMs = Fields.optLong(m, "delay_ms", 0, MAX_MS);
        batch.add(new Settlements.Settle(id, lease(m), Settlements.errorText(error), delayMs));
      } catch (ApiError e) {
        throw ApiError.badRequest("messages[" + i + "]: " + e.getMessage());
      }
    }
    return batch;
  }

  private static UUID lease(ObjectNode m) {
    String text = Fields.optString(m, "lease");
    if (text == null) {
      throw ApiError.badRequest("field 'lease' is required: the lease token receive returned");
    }
    try {
      return UUID.fromString(text);
    } catch (IllegalArgumentException e) {
      throw ApiError.badRequest(
          "field 'lease' must be the UUID receive returned, was '" + Call.abbreviate(text) + "'");
    }
  }
}
