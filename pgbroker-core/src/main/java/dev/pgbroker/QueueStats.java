package dev.pgbroker;

import java.time.Duration;

/**
 * A snapshot of one queue.
 *
 * @param ready deliverable now (including messages whose lease ran out)
 * @param delayed waiting for their due time or retry backoff
 * @param inFlight leased to a consumer
 * @param dead in the dead-letter store
 * @param oldestReadyAge how long the oldest deliverable message has waited; zero when none
 * @param sent messages stored since the queue was created (dedup hits excluded)
 * @param acked messages acknowledged
 * @param failed failed attempts (nacks, and leases that ran out on a last attempt)
 * @param deadLettered messages that used up their attempts or were sent to the dead letters
 */
public record QueueStats(
    String queue,
    long ready,
    long delayed,
    long inFlight,
    long dead,
    Duration oldestReadyAge,
    long sent,
    long acked,
    long failed,
    long deadLettered) {}
