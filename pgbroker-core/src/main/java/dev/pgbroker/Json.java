package dev.pgbroker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A payload that is already JSON text, sent as is. Any other payload object is serialised with
 * Jackson, so {@code send(q, "hi")} sends the JSON string {@code "hi"} while {@code send(q,
 * Json.of("{\"a\":1}"))} sends the object.
 */
public final class Json {
  private static final ObjectMapper PARSER = new ObjectMapper();
  private final String text;

  private Json(String text) {
    this.text = text;
  }

  /** Wraps JSON text after checking that it parses; malformed JSON is refused here. */
  public static Json of(String json) {
    Objects.requireNonNull(json, "json");
    try {
      PARSER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("payload is not valid JSON: " + e.getOriginalMessage(), e);
    }
    if (json.isBlank()) {
      throw new IllegalArgumentException("payload is not valid JSON: it is empty");
    }
    return new Json(json);
  }

  /** Wraps UTF-8 encoded JSON. */
  public static Json of(byte[] utf8Json) {
    Objects.requireNonNull(utf8Json, "utf8Json");
    return of(new String(utf8Json, StandardCharsets.UTF_8));
  }

  /** The JSON text. */
  public String text() {
    return text;
  }

  @Override
  public String toString() {
    return text;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Json other && other.text.equals(text);
  }

  @Override
  public int hashCode() {
    return text.hashCode();
  }
}
