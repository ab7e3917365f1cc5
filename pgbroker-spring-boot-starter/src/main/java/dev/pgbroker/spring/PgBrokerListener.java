package dev.pgbroker.spring;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a bean method that handles the messages of one queue.
 *
 * <pre>{@code
 * @PgBrokerListener(queue = "payments", concurrency = 4)
 * void pay(Payment payment) { ... }
 * }</pre>
 *
 * <p>The method takes the payload, read from JSON with the application's {@code ObjectMapper} into
 * the parameter's type (generics included), and may take the {@link dev.pgbroker.Delivery} as well
 * (attempt, headers, id). Returning acknowledges the message; throwing retries it after the queue's
 * backoff, and after its last attempt it moves to the dead-letter store ({@link
 * dev.pgbroker.RetryLaterException} and {@link dev.pgbroker.PoisonMessageException} choose
 * otherwise).
 *
 * <p>A transactional listener ({@link #transactional()}, or a method or class annotated with
 * Spring's {@code @Transactional}) runs inside the transaction that acknowledges its message: its
 * {@code JdbcTemplate} writes and sends through {@link PgBrokerTemplate} commit together with the
 * ack or not at all, so its effect happens exactly once.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface PgBrokerListener {
  /** The queue; {@code ${...}} placeholders are resolved. Created with defaults when missing. */
  String queue();

  /**
   * Handlers running at once (0: {@code pgbroker.queues.<queue>.concurrency}, else {@code
   * pgbroker.worker.concurrency}); the queue's property wins over this.
   */
  int concurrency() default 0;

  /** Whether the method's writes commit with the ack (implied by {@code @Transactional}). */
  boolean transactional() default false;
}
