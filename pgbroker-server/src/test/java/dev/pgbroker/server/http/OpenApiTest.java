package dev.pgbroker.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgbroker.Broker;
import dev.pgbroker.testing.BrokerExtension;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The OpenAPI document and the running server agree, path by path and method by method. */
@ExtendWith(BrokerExtension.class)
class OpenApiTest {
  private static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "patch");

  @Test
  void everyDocumentedRouteAnswersAndEveryServedRouteIsDocumented(Broker broker) throws Exception {
    broker.createQueue("q");
    try (HttpApi api = Servers.start(broker)) {
      ApiClient admin = new ApiClient(api.uri(), Servers.ADMIN);
      JsonNode doc = admin.withToken(null).get("/v1/openapi.json").json();
      assertThat(doc.get("openapi").asText()).startsWith("3.");

      Set<String> documented = new TreeSet<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = doc.get("paths").fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> path = it.next();
        for (Iterator<String> ms = path.getValue().fieldNames(); ms.hasNext(); ) {
          String method = ms.next();
          if (!METHODS.contains(method)) {
            continue;
          }
          documented.add(method.toUpperCase() + " " + path.getKey());
          // Filled in with real names: every documented route must be served (any answer but
          // "no such route" or "method not allowed"), whatever it thinks of the empty body.
          String concrete =
              path.getKey()
                  .replace("{queue}", "q")
                  .replace("{topic}", "t")
                  .replace("{subscription}", "s")
                  .replace("{schedule}", "nightly")
                  .replace("{id}", "1")
                  .replace("{file}", "app.js");
          ApiClient.Response r =
              admin.send(method.toUpperCase(), concrete, method.equals("get") ? null : "{}");
          String code = r.json() == null ? "" : r.json().path("code").asText();
          assertThat(code).as(method + " " + concrete).isNotIn("not_found", "method_not_allowed");
          // (a 404 with another code, such as unknown_queue once DELETE has run, is an answer)
          assertThat(r.status()).as(method + " " + concrete).isNotIn(405, 500);
          JsonNode op = path.getValue().get(method);
          String scope = op.get("x-scope").asText();
          Route served = find(api, method.toUpperCase(), path.getKey());
          assertThat(served.access().name().toLowerCase()).as(path.getKey()).isEqualTo(scope);
        }
      }
      Set<String> served = new TreeSet<>();
      for (Route r : api.routes()) {
        served.add(r.method() + " " + r.template());
      }
      assertThat(served).isEqualTo(documented);
    }
  }

  private static Route find(HttpApi api, String method, String template) {
    return api.routes().stream()
        .filter(r -> r.method().equals(method) && r.template().equals(template))
        .findFirst()
        .orElseThrow(() -> new AssertionError("not served: " + method + " " + template));
  }
}
