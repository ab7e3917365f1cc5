package dev.pgbroker.spring;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Runs a bean method on a recurring schedule, once per tick across every instance of the
 * application: each tick sends one message to the queue named after the schedule, and the method is
 * that queue's listener (so it retries, dead-letters and may be transactional like any {@link
 * PgBrokerListener}).
 *
 * <pre>{@code
 * @PgBrokerSchedule(name = "reports.nightly", cron = "0 3 * * *", zone = "Europe/Paris")
 * void nightly() { ... }
 *
 * @PgBrokerSchedule(name = "orders.sweep", every = "${orders.sweep-every:1m}")
 * void sweep(Delivery tick) { ... } // tick.headers().get("pgbroker-tick"): the tick's time
 * }</pre>
 *
 * <p>Give {@link #cron()} or {@link #every()}; {@code ${...}} placeholders are resolved in both.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface PgBrokerSchedule {
  /** The schedule's name, and the queue its ticks go to. */
  String name();

  /** A cron expression: 5 fields, 6 with seconds first, or a macro such as {@code @hourly}. */
  String cron() default "";

  /** The time zone the cron fields are read in. */
  String zone() default "UTC";

  /** A fixed interval instead of cron, as Spring reads durations: {@code 30s}, {@code 1m}. */
  String every() default "";

  /** Whether the method's writes commit with the tick's ack (implied by @Transactional). */
  boolean transactional() default false;
}
