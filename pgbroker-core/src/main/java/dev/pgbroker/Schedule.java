package dev.pgbroker;

import java.time.Duration;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Objects;

/**
 * When a recurring message is sent, and what it is: a cron expression read in a time zone, or a
 * fixed interval; the payload and send options of each tick's message; and how many ticks missed
 * while no instance ran are still sent. Register it with {@link Schedules#put}. Immutable.
 */
public final class Schedule {
  /** The shortest interval; cron expressions have seconds as their finest field too. */
  public static final Duration MIN_INTERVAL = Duration.ofSeconds(1);

  /** Mirrors {@code schedule()} in code/85_schedules.sql. */
  public static final int MAX_CATCH_UP = 1000;

  private static final ZoneId UTC = ZoneId.of("UTC");

  private final String cron;
  private final ZoneId zone;
  private final Duration every;
  private final Object payload;
  private final SendOptions options;
  private final int catchUp;

  private Schedule(
      String cron, ZoneId zone, Duration every, Object payload, SendOptions options, int catchUp) {
    this.cron = cron;
    this.zone = zone;
    this.every = every;
    this.payload = payload;
    this.options = options;
    this.catchUp = catchUp;
  }

  /**
   * A cron schedule in UTC: 5 fields (minute hour day-of-month month day-of-week), 6 with seconds
   * first, or a macro such as {@code @hourly}. The database checks the expression when the schedule
   * is put.
   */
  public static Schedule cron(String expression) {
    return cron(expression, UTC);
  }

  /** A cron schedule whose fields are read in {@code zone}, clock changes included. */
  public static Schedule cron(String expression, ZoneId zone) {
    if (expression == null || expression.isBlank()) {
      throw new IllegalArgumentException("cron expression must not be blank, was " + expression);
    }
    Objects.requireNonNull(zone, "zone");
    if (zone.normalized().equals(ZoneOffset.UTC)) {
      zone = UTC;
    } else if (zone instanceof ZoneOffset) {
      throw new IllegalArgumentException(
          "zone must be a region such as Europe/Berlin (its clock changes are part of the"
              + " schedule), or UTC; was the fixed offset "
              + zone);
    }
    return new Schedule(expression.trim(), zone, null, Json.of("{}"), SendOptions.none(), 0);
  }

  /** A tick every {@code interval} (at least 1 s), the first one interval after it is put. */
  public static Schedule every(Duration interval) {
    Objects.requireNonNull(interval, "interval");
    if (interval.compareTo(MIN_INTERVAL) < 0 || interval.compareTo(Checks.MAX_DURATION) > 0) {
      throw new IllegalArgumentException(
          "interval must be from 1 s to " + Checks.MAX_DURATION + ", was " + interval);
    }
    return new Schedule(null, UTC, interval, Json.of("{}"), SendOptions.none(), 0);
  }

  /** The payload of every tick's message (default {@code {}}). */
  public Schedule payload(Object payload) {
    Objects.requireNonNull(payload, "payload");
    return new Schedule(cron, zone, every, payload, options, catchUp);
  }

  /**
   * Send options of every tick's message (no dedup key or delivery time: each tick is a message of
   * its own). Each message also gets the headers {@code pgbroker-schedule} and {@code
   * pgbroker-tick}.
   */
  public Schedule options(SendOptions options) {
    Objects.requireNonNull(options, "options");
    if (options.dedupKey() != null || options.deliverAt() != null) {
      throw new IllegalArgumentException(
          "a schedule's messages take no dedup key or delivery time; use a delay");
    }
    return new Schedule(cron, zone, every, payload, options, catchUp);
  }

  /**
   * How many ticks missed while no instance ran (over 30 s late) are still sent, oldest first; the
   * rest are skipped. Default 0: skip them all and go on with the next tick.
   */
  public Schedule catchUp(int ticks) {
    if (ticks < 0 || ticks > MAX_CATCH_UP) {
      throw new IllegalArgumentException(
          "catchUp must be from 0 to " + MAX_CATCH_UP + ", was " + ticks);
    }
    return new Schedule(cron, zone, every, payload, options, ticks);
  }

  /** The cron expression, or null for an interval schedule. */
  public String cron() {
    return cron;
  }

  public ZoneId zone() {
    return zone;
  }

  /** The interval, or null for a cron schedule. */
  public Duration every() {
    return every;
  }

  Object payload() {
    return payload;
  }

  SendOptions options() {
    return options;
  }

  int catchUpTicks() {
    return catchUp;
  }

  @Override
  public String toString() {
    return cron != null ? "cron(" + cron + " " + zone + ")" : "every(" + every + ")";
  }
}
