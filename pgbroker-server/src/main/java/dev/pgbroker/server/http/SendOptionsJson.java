package dev.pgbroker.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgbroker.SendOptions;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Send options from a request body, under the SQL API's names: {@code delay_ms}, {@code
 * deliver_at}, {@code priority}, {@code dedup_key}, {@code ordering_key}, {@code headers}, {@code
 * type}, {@code max_attempts}, {@code backoff_ms}. {@link SendOptions} checks each value as it is
 * set.
 */
final class SendOptionsJson {
  static final Set<String> KEYS =
      Set.of(
          "delay_ms",
          "deliver_at",
          "priority",
          "dedup_key",
          "ordering_key",
          "headers",
          "type",
          "max_attempts",
          "backoff_ms");

  private static final long MAX_MS = 1_000_000_000_000_000L;

  private SendOptionsJson() {}

  static SendOptions read(ObjectNode body) {
    SendOptions o = SendOptions.none();
    Long delay = Fields.optLong(body, "delay_ms", 0, MAX_MS);
    if (delay != null) {
      o = o.delay(Duration.ofMillis(delay));
    }
    String at = Fields.optString(body, "deliver_at");
    if (at != null) {
      try {
        o = o.deliverAt(Instant.parse(at));
      } catch (DateTimeParseException e) {
        throw ApiError.badRequest(
            "field 'deliver_at' must be an ISO-8601 instant such as 2030-01-01T08:00:00Z, was '"
                + Call.abbreviate(at)
                + "'");
      }
    }
    Integer priority =
        Fields.optInt(body, "priority", -SendOptions.MAX_PRIORITY, SendOptions.MAX_PRIORITY);
    if (priority != null) {
      o = o.priority(priority);
    }
    String dedup = Fields.optString(body, "dedup_key");
    if (dedup != null) {
      o = o.dedupKey(dedup);
    }
    String ordering = Fields.optString(body, "ordering_key");
    if (ordering != null) {
      o = o.orderingKey(ordering);
    }
    JsonNode headers = body.get("headers");
    if (headers != null && !headers.isNull()) {
      if (!headers.isObject()) {
        throw ApiError.badRequest("field 'headers' must be an object of string values");
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = headers.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> h = it.next();
        if (!h.getValue().isTextual()) {
          throw ApiError.badRequest(
              "header '" + Call.abbreviate(h.getKey()) + "' must have a string value");
        }
        o = o.header(h.getKey(), h.getValue().asText());
      }
    }
    String type = Fields.optString(body, "type");
    if (type != null) {
      o = o.type(type);
    }
    Integer maxAttempts = Fields.optInt(body, "max_attempts", 1, Integer.MAX_VALUE);
    if (maxAttempts != null) {
      o = o.maxAttempts(maxAttempts);
    }
    List<Long> backoff = Fields.optLongs(body, "backoff_ms", 0, MAX_MS, 1000);
    if (backoff != null) {
      o = o.backoffSchedule(backoff.stream().map(Duration::ofMillis).toArray(Duration[]::new));
    }
    return o;
  }
}
