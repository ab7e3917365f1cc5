package dev.pgbroker.server.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Pattern;

/** One request as a route sees it: path values, query parameters and a size-limited JSON body. */
final class Call {
  /** pgbroker's queue name rule (the SQL functions and {@code Checks} enforce the same). */
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,62}");

  private final HttpExchange exchange;
  private final Map<String, String> path;
  private final ObjectMapper mapper;
  private final int maxBodyBytes;
  private Map<String, String> query;

  Call(HttpExchange exchange, Map<String, String> path, ObjectMapper mapper, int maxBodyBytes) {
    this.exchange = exchange;
    this.path = path;
    this.mapper = mapper;
    this.maxBodyBytes = maxBodyBytes;
  }

  ObjectMapper mapper() {
    return mapper;
  }

  /** A path value as it came. */
  String pathValue(String key) {
    return path.get(key);
  }

  /** A path value that must be a valid queue (or topic) name. */
  String name(String key) {
    String value = path.get(key);
    if (!NAME.matcher(value).matches()) {
      throw ApiError.badRequest(
          key
              + " name must be 1 to 63 characters of a-z 0-9 _ . - starting with a letter or"
              + " digit, was '"
              + abbreviate(value)
              + "'");
    }
    return value;
  }

  /** A path value that must be a message id. */
  long id(String key) {
    String value = path.get(key);
    try {
      long id = Long.parseLong(value);
      if (id > 0) {
        return id;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw ApiError.badRequest(
        key + " must be a positive whole number, was '" + abbreviate(value) + "'");
  }

  /** A whole-number query parameter from {@code min} to {@code max}, or the default if absent. */
  int queryInt(String key, int fallback, int min, int max) {
    String value = query().get(key);
    if (value == null) {
      return fallback;
    }
    try {
      int n = Integer.parseInt(value);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw ApiError.badRequest(
        key + " must be a whole number from " + min + " to " + max + ", was '" + value + "'");
  }

  private Map<String, String> query() {
    if (query == null) {
      query = new HashMap<>();
      String raw = exchange.getRequestURI().getRawQuery();
      if (raw != null) {
        for (String pair : raw.split("&")) {
          int eq = pair.indexOf('=');
          String k = eq < 0 ? pair : pair.substring(0, eq);
          String v = eq < 0 ? "" : pair.substring(eq + 1);
          query.put(decode(k), decode(v));
        }
      }
    }
    return query;
  }

  /** The body as a JSON object; an empty body is an empty object. */
  ObjectNode body() throws IOException {
    byte[] bytes = readBody();
    if (bytes.length == 0) {
      return mapper.createObjectNode();
    }
    JsonNode node;
    try {
      node = mapper.readTree(bytes);
    } catch (JsonProcessingException e) {
      throw new ApiError(
          400, "malformed_json", "the request body is not valid JSON: " + e.getOriginalMessage());
    }
    if (node == null || !node.isObject()) {
      throw new ApiError(400, "malformed_json", "the request body must be a JSON object");
    }
    return (ObjectNode) node;
  }

  private byte[] readBody() throws IOException {
    String length = exchange.getRequestHeaders().getFirst("Content-Length");
    if (length != null && length.matches("\\d{1,18}") && Long.parseLong(length) > maxBodyBytes) {
      throw tooLarge();
    }
    try (InputStream in = exchange.getRequestBody()) {
      byte[] bytes = in.readNBytes(maxBodyBytes + 1);
      if (bytes.length > maxBodyBytes) {
        throw tooLarge();
      }
      return bytes;
    }
  }

  private ApiError tooLarge() {
    return new ApiError(
        413, "body_too_large", "the request body is over the limit of " + maxBodyBytes + " bytes");
  }

  static String abbreviate(String s) {
    return s.length() <= 80 ? s : s.substring(0, 80) + "...";
  }

  private static String decode(String s) {
    try {
      return URLDecoder.decode(s, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw ApiError.badRequest("malformed query string: " + e.getMessage());
    }
  }
}
