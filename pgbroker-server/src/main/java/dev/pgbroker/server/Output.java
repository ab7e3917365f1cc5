package dev.pgbroker.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.time.Duration;

/**
 * How commands print: {@code --json} output is one JSON value per line (objects named like the SQL
 * API's columns, payloads embedded as JSON), so scripts can pipe it to jq.
 */
final class Output {
  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .addModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .build();

  private Output() {}

  static ObjectNode object() {
    return JSON.createObjectNode();
  }

  /** Prints one value as a line of JSON. */
  static void json(PrintWriter out, Object value) {
    try {
      out.println(JSON.writeValueAsString(value));
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** JSON text read back into a tree, to embed a stored payload as JSON rather than a string. */
  static JsonNode tree(String json) {
    try {
      return JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  static JsonNode tree(Object value) {
    return JSON.valueToTree(value);
  }

  /** The text cut to {@code max} characters with an ellipsis, for one-line listings. */
  static String shorten(String text, int max) {
    if (text == null) {
      return "";
    }
    String oneLine = text.replace('\n', ' ');
    return oneLine.length() <= max ? oneLine : oneLine.substring(0, max - 1) + "…";
  }

  /** "250ms", "12.5s", "3m20s", "2h5m": a duration as a person reads it. */
  static String duration(Duration d) {
    long ms = d.toMillis();
    if (ms < 1000) {
      return ms + "ms";
    }
    if (ms < 60_000) {
      return (ms % 1000 == 0 ? String.valueOf(ms / 1000) : String.format("%.1f", ms / 1000.0))
          + "s";
    }
    long s = ms / 1000;
    if (s < 3600) {
      return s / 60 + "m" + (s % 60 == 0 ? "" : s % 60 + "s");
    }
    return s / 3600 + "h" + (s % 3600 / 60 == 0 ? "" : s % 3600 / 60 + "m");
  }
}
