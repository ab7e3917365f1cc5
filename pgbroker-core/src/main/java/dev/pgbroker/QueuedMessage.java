package dev.pgbroker;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A live message of a queue (ready, delayed, leased, or waiting for its ordering key) as {@link
 * Broker#messages(String)} shows it, with its history so far. A snapshot: it holds no lease.
 *
 * @param attempts deliveries since it was sent or last replayed, the current one included
 * @param priorAttempts deliveries before its last replay (0 if never replayed)
 * @param leased whether a consumer holds a lease on it now
 * @param visibleAt when it is next deliverable: its due time, retry time or, while leased, the
 *     lease's end; null while it waits behind another message of its ordering key
 * @param errors one entry per failed attempt so far, oldest first, across replays
 */
public record QueuedMessage(
    String queue,
    long id,
    String payloadJson,
    Map<String, String> headers,
    int priority,
    String orderingKey,
    int attempts,
    int priorAttempts,
    boolean leased,
    Instant visibleAt,
    Instant enqueuedAt,
    List<DeadLetter.AttemptError> errors) {}
