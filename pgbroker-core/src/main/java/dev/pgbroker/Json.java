package dev.pgbroker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A payload that is already JSON text, sent as is. Any other payload object is serialised with
 * Jackson, so {@code send(q, "hi")} sends the JSON string {@code "hi"} while {@code send(q,
 * Json.of("{\"a\":1}"))} sends the object.
 */
public final class Json {
  /** Refuses text after the first value too ({@code {"a":1}{}), as PostgreSQL does. */
  private static final ObjectMapper PARSER =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

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

  /** Wraps UTF-8 encoded JSON; bytes that are not valid UTF-8 are refused, not replaced. */
  public static Json of(byte[] utf8Json) {
    Objects.requireNonNull(utf8Json, "utf8Json");
    try {
      return of(
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(utf8Json))
              .toString());
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("payload is not valid JSON: its bytes are not UTF-8", e);
    }
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
