package dev.pgbroker.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgbroker.Broker;
import dev.pgbroker.Filter;
import dev.pgbroker.Subscription;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Topics and their subscriptions: list, subscribe with a header filter, unsubscribe. */
final class TopicRoutes {
  private final Broker broker;

  TopicRoutes(Broker broker) {
    this.broker = broker;
  }

  List<Route> routes() {
    return List.of(
        new Route("GET", "/v1/topics", Route.Access.READ, c -> list()),
        new Route(
            "PUT",
            "/v1/topics/{topic}/subscriptions/{subscription}",
            Route.Access.ADMIN,
            this::subscribe),
        new Route(
            "DELETE",
            "/v1/topics/{topic}/subscriptions/{subscription}",
            Route.Access.ADMIN,
            this::unsubscribe));
  }

  private Reply list() {
    List<Object> topics = new ArrayList<>();
    List<Subscription> all = broker.topics().subscriptions();
    for (String topic : broker.topics().names()) {
      List<Object> subs = new ArrayList<>();
      for (Subscription s : all) {
        if (s.topic().equals(topic)) {
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("subscription", s.queue());
          m.put("filter", s.filter().headers());
          m.put("created_at", String.valueOf(s.createdAt()));
          subs.add(m);
        }
      }
      topics.add(Map.of("topic", topic, "subscriptions", subs));
    }
    return Reply.ok(Map.of("topics", topics));
  }

  private Reply subscribe(Call call) throws Exception {
    String topic = call.name("topic");
    String subscription = call.name("subscription");
    ObjectNode body = call.body();
    Fields.allowOnly(body, Set.of("filter"));
    Filter filter = Filter.all();
    JsonNode f = body.get("filter");
    if (f != null && !f.isNull()) {
      if (!f.isObject()) {
        throw ApiError.badRequest(
            "field 'filter' must be an object of header name to an array of accepted values,"
                + " e.g. {\"type\": [\"order.paid\"]}");
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = f.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> h = it.next();
        List<String> values = new ArrayList<>();
        if (!h.getValue().isArray() || h.getValue().isEmpty()) {
          throw ApiError.badRequest(
              "filter header '"
                  + Call.abbreviate(h.getKey())
                  + "' must list its accepted values as a non-empty array of strings");
        }
        for (JsonNode v : h.getValue()) {
          if (!v.isTextual()) {
            throw ApiError.badRequest(
                "filter header '" + Call.abbreviate(h.getKey()) + "' values must be strings");
          }
          values.add(v.asText());
        }
        filter = filter.header(h.getKey(), values.toArray(String[]::new));
      }
    }
    broker.topics().subscribe(topic, subscription, filter);
    return Reply.ok(Map.of("topic", topic, "subscription", subscription));
  }

  private Reply unsubscribe(Call call) {
    boolean removed = broker.topics().unsubscribe(call.name("topic"), call.name("subscription"));
    return Reply.ok(Map.of("unsubscribed", removed));
  }
}
