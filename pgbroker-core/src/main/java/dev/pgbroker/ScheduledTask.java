package dev.pgbroker;

import java.time.Duration;
import java.time.Instant;

/**
 * A registered schedule as the database holds it.
 *
 * @param cron the cron expression, or null for an interval schedule
 * @param every the interval, or null for a cron schedule
 * @param nextRun the next tick to send (while paused, the one it stopped at)
 * @param lastRun the last tick sent, or null if none yet
 */
public record ScheduledTask(
    String name,
    String queue,
    String cron,
    String timeZone,
    Duration every,
    int catchUp,
    boolean paused,
    Instant nextRun,
    Instant lastRun) {}
