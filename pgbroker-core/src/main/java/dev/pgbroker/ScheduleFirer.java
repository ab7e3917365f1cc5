package dev.pgbroker;

import java.time.Duration;

/**
 * Sends due schedule ticks. Every worker runs one: the database locks each schedule while one
 * instance fires it and refuses a second message for a tick, so no leader is needed, and an
 * instance that dies costs no failover wait.
 */
final class ScheduleFirer {
  /**
   * A tick later than this counts as missed (every instance was down), as Schedule.catchUp says.
   */
  static final long GRACE_MS = 30_000;

  /** The longest wait, so a schedule put by another instance starts within about a second. */
  private static final long MAX_WAIT_MS = 1_000;

  /** The shortest wait, so a tick that another instance is firing right now is not polled hot. */
  private static final long MIN_WAIT_MS = 20;

  private final ScheduleSql sql;
  private final Loop loop;

  ScheduleFirer(ScheduleSql sql, WorkerListener listener) {
    this.sql = sql;
    this.loop =
        new Loop("pgbroker-schedules", this::step, e -> listener.databaseError("schedules", e));
  }

  void start() {
    loop.start();
  }

  void stop(Duration timeout) {
    loop.stop(timeout);
  }

  private void step() {
    Long next = sql.fire(GRACE_MS);
    loop.await(next == null ? MAX_WAIT_MS : Math.max(MIN_WAIT_MS, Math.min(MAX_WAIT_MS, next)));
  }
}
