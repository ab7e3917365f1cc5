package dev.pgbroker.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/** Typed reads of a request body's fields, each refusing a wrong type with the field's name. */
final class Fields {
  private Fields() {}

  /** Refuses a field the route does not know, listing the ones it does. */
  static void allowOnly(ObjectNode body, Set<String> allowed) {
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (!allowed.contains(name)) {
        throw ApiError.badRequest(
            "unknown field '"
                + Call.abbreviate(name)
                + "'; allowed: "
                + String.join(", ", new TreeSet<>(allowed)));
      }
    }
  }

  static JsonNode require(ObjectNode body, String key) {
    JsonNode node = body.get(key);
    if (node == null || node.isNull()) {
      throw ApiError.badRequest("field '" + key + "' is required");
    }
    return node;
  }

  /** A whole number from min to max, or null when absent or null. */
  static Long optLong(ObjectNode body, String key, long min, long max) {
    JsonNode node = body.get(key);
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isIntegralNumber() || !node.canConvertToLong()) {
      throw ApiError.badRequest(
          "field '" + key + "' must be a whole number, was " + Call.abbreviate(node.toString()));
    }
    long v = node.asLong();
    if (v < min || v > max) {
      throw ApiError.badRequest(
          "field '" + key + "' must be from " + min + " to " + max + ", was " + v);
    }
    return v;
  }

  static Integer optInt(ObjectNode body, String key, int min, int max) {
    Long v = optLong(body, key, min, max);
    return v == null ? null : v.intValue();
  }

  static String optString(ObjectNode body, String key) {
    JsonNode node = body.get(key);
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isTextual()) {
      throw ApiError.badRequest(
          "field '" + key + "' must be a string, was " + Call.abbreviate(node.toString()));
    }
    return node.asText();
  }

  static Boolean optBoolean(ObjectNode body, String key) {
    JsonNode node = body.get(key);
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isBoolean()) {
      throw ApiError.badRequest(
          "field '" + key + "' must be true or false, was " + Call.abbreviate(node.toString()));
    }
    return node.asBoolean();
  }

  /** A non-empty array of whole numbers from min to max, or null when absent. */
  static List<Long> optLongs(ObjectNode body, String key, long min, long max, int maxItems) {
    JsonNode node = body.get(key);
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isArray() || node.isEmpty() || node.size() > maxItems) {
      throw ApiError.badRequest(
          "field '" + key + "' must be an array of 1 to " + maxItems + " whole numbers");
    }
    List<Long> values = new ArrayList<>();
    for (JsonNode item : node) {
      if (!item.isIntegralNumber() || !item.canConvertToLong()) {
        throw ApiError.badRequest(
            "field '" + key + "' must hold whole numbers, had " + Call.abbreviate(item.toString()));
      }
      long v = item.asLong();
      if (v < min || v > max) {
        throw ApiError.badRequest(
            "field '" + key + "' must hold numbers from " + min + " to " + max + ", had " + v);
      }
      values.add(v);
    }
    return values;
  }
}
