package dev.pgbroker.server.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgbroker.Broker;
import dev.pgbroker.DeadLetter;
import dev.pgbroker.DeadLetterStore;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** A queue's dead letters: list with every attempt's error, replay, purge. */
final class DeadLetterRoutes {
  static final int MAX_IDS = 1000;

  private final Broker broker;

  DeadLetterRoutes(Broker broker) {
    this.broker = broker;
  }

  List<Route> routes() {
    return List.of(
        new Route("GET", "/v1/queues/{queue}/dead-letters", Route.Access.READ, this::list),
        new Route("GET", "/v1/queues/{queue}/dead-letters/{id}", Route.Access.READ, this::find),
        new Route(
            "POST", "/v1/queues/{queue}/dead-letters/replay", Route.Access.ADMIN, this::replay),
        new Route(
            "POST", "/v1/queues/{queue}/dead-letters/purge", Route.Access.ADMIN, this::purge));
  }

  private Reply list(Call call) throws Exception {
    String queue = call.name("queue");
    int limit = call.queryInt("limit", 50, 1, DeadLetterStore.MAX_LIST);
    List<Object> out = new ArrayList<>();
    for (DeadLetter d : broker.deadLetters(queue).list(limit)) {
      out.add(json(call, d));
    }
    return Reply.ok(Map.of("dead_letters", out));
  }

  private Reply find(Call call) throws Exception {
    String queue = call.name("queue");
    long id = call.id("id");
    DeadLetter d =
        broker
            .deadLetters(queue)
            .find(id)
            .orElseThrow(
                () ->
                    ApiError.notFound(
                        "unknown_dead_letter",
                        "queue " + queue + " has no dead letter with id " + id));
    return Reply.ok(json(call, d));
  }

  private Reply replay(Call call) throws Exception {
    String queue = call.name("queue");
    ObjectNode body = call.body();
    Fields.allowOnly(body, Set.of("ids", "error_contains", "all"));
    DeadLetterStore store = broker.deadLetters(queue);
    String contains = Fields.optString(body, "error_contains");
    List<Long> ids = Fields.optLongs(body, "ids", 1, Long.MAX_VALUE, MAX_IDS);
    boolean all = Boolean.TRUE.equals(Fields.optBoolean(body, "all"));
    if ((ids != null ? 1 : 0) + (contains != null ? 1 : 0) + (all ? 1 : 0) != 1) {
      throw ApiError.badRequest(
          "give exactly one of 'ids' (an array), 'error_contains' (text) and 'all': true");
    }
    int n = 0;
    if (all) {
      n = store.replayAll();
    } else if (contains != null) {
      n = store.replayWhereErrorContains(contains);
    } else {
      for (long id : ids) {
        n += store.replay(id) ? 1 : 0;
      }
    }
    return Reply.ok(Map.of("replayed", n));
  }

  private Reply purge(Call call) throws Exception {
    String queue = call.name("queue");
    ObjectNode body = call.body();
    Fields.allowOnly(body, Set.of("ids", "all"));
    DeadLetterStore store = broker.deadLetters(queue);
    List<Long> ids = Fields.optLongs(body, "ids", 1, Long.MAX_VALUE, MAX_IDS);
    boolean all = Boolean.TRUE.equals(Fields.optBoolean(body, "all"));
    if ((ids != null) == all) {
      throw ApiError.badRequest("give exactly one of 'ids' (an array) and 'all': true");
    }
    int n = 0;
    if (all) {
      n = store.purgeAll();
    } else {
      for (long id : ids) {
        n += store.purge(id) ? 1 : 0;
      }
    }
    return Reply.ok(Map.of("purged", n));
  }

  private static Map<String, Object> json(Call call, DeadLetter d) throws Exception {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", d.id());
    m.put("payload", call.mapper().readTree(d.payloadJson()));
    m.put("headers", d.headers());
    m.put("attempts", d.attempts());
    m.put("prior_attempts", d.priorAttempts());
    m.put("enqueued_at", String.valueOf(d.enqueuedAt()));
    m.put("dead_at", String.valueOf(d.deadAt()));
    m.put("last_error", d.lastError());
    List<Object> errors = new ArrayList<>();
    for (DeadLetter.AttemptError e : d.errors()) {
      Map<String, Object> em = new LinkedHashMap<>();
      em.put("attempt", e.attempt());
      em.put("at", String.valueOf(e.at()));
      em.put("error", e.error());
      em.put("trace", e.trace());
      errors.add(em);
    }
    m.put("errors", errors);
    return m;
  }
}
