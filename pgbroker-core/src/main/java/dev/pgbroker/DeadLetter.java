package dev.pgbroker;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A message that used up its attempts (or was sent to the dead letters by its handler), with the
 * error of every failed attempt.
 */
public record DeadLetter(
    String queue,
    long id,
    String payloadJson,
    Map<String, String> headers,
    int attempts,
    Instant enqueuedAt,
    Instant deadAt,
    List<AttemptError> errors) {

  /** One failed attempt: its number, when it failed, and the error given (may be null). */
  public record AttemptError(int attempt, Instant at, String error) {}

  /** The last error recorded, or null. */
  public String lastError() {
    return errors.isEmpty() ? null : errors.get(errors.size() - 1).error();
  }
}
