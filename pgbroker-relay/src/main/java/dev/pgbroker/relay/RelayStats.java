package dev.pgbroker.relay;

import java.time.Duration;

/**
 * A snapshot of one relay's counters since it started, and its lag.
 *
 * @param published publish attempts handed to the sink, republishes included
 * @param confirmed messages the broker confirmed (then acknowledged in pgbroker)
 * @param retried publish attempts that failed transiently and will be made again
 * @param deadLettered messages the broker refused for good, moved to the dead-letter store
 * @param inFlight messages published and not yet confirmed or refused, or waiting to be again
 * @param lag age of the oldest message waiting to be relayed, across the relayed queues; zero when
 *     none waits
 */
public record RelayStats(
    long published, long confirmed, long retried, long deadLettered, int inFlight, Duration lag) {}
