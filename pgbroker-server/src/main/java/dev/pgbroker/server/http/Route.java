package dev.pgbroker.server.http;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One method and path template, such as {@code POST /v1/queues/{queue}/messages}, with who may call
 * it and what answers. A {@code {name}} segment matches one path segment.
 */
record Route(String method, String template, Access access, Handler handler) {
  enum Access {
    /** No token: health probes, the OpenAPI document and the dashboard's static files. */
    PUBLIC,
    /** A read-only or admin token. */
    READ,
    /** An admin token. */
    ADMIN
  }

  interface Handler {
    Reply handle(Call call) throws Exception;
  }

  /** The path's values for the template's {@code {name}} segments, or null if it does not fit. */
  Map<String, String> match(List<String> segments) {
    List<String> parts = segmentsOf(template);
    if (parts.size() != segments.size()) {
      return null;
    }
    Map<String, String> values = new HashMap<>();
    for (int i = 0; i < parts.size(); i++) {
      String p = parts.get(i);
      if (p.startsWith("{") && p.endsWith("}")) {
        values.put(p.substring(1, p.length() - 1), segments.get(i));
      } else if (!p.equals(segments.get(i))) {
        return null;
      }
    }
    return values;
  }

  static List<String> segmentsOf(String path) {
    return Arrays.stream(path.split("/")).filter(s -> !s.isEmpty()).toList();
  }
}
