package dev.pgbroker;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A message that used up its attempts (or was sent to the dead letters by its handler), with the
 * error of every failed attempt.
 *
 * @param attempts deliveries since it was sent or last replayed: the ones that counted against its
 *     limit
 * @param priorAttempts deliveries before its last replay (0 if never replayed); every attempt of a
 *     dead letter failed, so {@code errors} holds {@code priorAttempts + attempts} entries
 * @param errors one entry per failed attempt, oldest first, across replays
 */
public record DeadLetter(
    String queue,
    long id,
    String payloadJson,
    Map<String, String> headers,
    int attempts,
    int priorAttempts,
    Instant enqueuedAt,
    Instant deadAt,
    List<AttemptError> errors) {

  /**
   * One failed attempt: its number (counted from 1 again after a replay), when it failed, the error
   * given (may be null) and, for an exception thrown in a worker's handler, its full stack trace
   * (else null). The error of an exception is short: its class, message and top stack frames.
   */
  public record AttemptError(int attempt, Instant at, String error, String trace) {}

  /** The last error recorded, or null. */
  public String lastError() {
    return errors.isEmpty() ? null : errors.get(errors.size() - 1).error();
  }
}
