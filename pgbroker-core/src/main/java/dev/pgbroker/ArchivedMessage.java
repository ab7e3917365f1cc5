package dev.pgbroker;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * An acknowledged message kept in the archive by its queue's retention, as {@link
 * Broker#archive(String)} shows it.
 *
 * @param attempts deliveries since it was sent or last replayed; the last one succeeded
 * @param priorAttempts deliveries before its last replay (0 if never replayed)
 * @param errors one entry per failed attempt before it succeeded, oldest first, across replays
 */
public record ArchivedMessage(
    String queue,
    long id,
    String payloadJson,
    Map<String, String> headers,
    int attempts,
    int priorAttempts,
    Instant enqueuedAt,
    Instant ackedAt,
    List<DeadLetter.AttemptError> errors) {}
