package dev.pgbroker;

import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How one message is sent: delay, priority, dedup key, ordering key, headers, and its own retry
 * policy. Immutable.
 */
public final class SendOptions {
  private static final SendOptions NONE =
      new SendOptions(0, null, 0, null, null, Map.of(), null, List.of());

  /** Priorities are kept within this range, either sign. */
  public static final int MAX_PRIORITY = 1_000_000;

  private final long delayMs;
  private final Instant deliverAt;
  private final int priority;
  private final String dedupKey;
  private final String orderingKey;
  private final Map<String, String> headers;
  private final Integer maxAttempts;
  private final List<Long> backoffMs;

  private SendOptions(
      long delayMs,
      Instant deliverAt,
      int priority,
      String dedupKey,
      String orderingKey,
      Map<String, String> h,
      Integer maxAttempts,
      List<Long> backoffMs) {
    this.delayMs = delayMs;
    this.deliverAt = deliverAt;
    this.priority = priority;
    this.dedupKey = dedupKey;
    this.orderingKey = orderingKey;
    this.headers = h;
    this.maxAttempts = maxAttempts;
    this.backoffMs = backoffMs;
  }

  /** Deliver now, priority 0, no keys, no headers, the queue's retry policy. */
  public static SendOptions none() {
    return NONE;
  }

  /**
   * Deliverable {@code delay} after the send statement runs, on the database clock (inside a
   * transaction, that is when {@code send} is called, not when the transaction commits; a message
   * is never visible before its commit). Replaces a {@link #deliverAt} time.
   */
  public SendOptions delay(Duration delay) {
    long ms = QueueOptions.nonNegativeMillis("delay", delay);
    return new SendOptions(
        ms, null, priority, dedupKey, orderingKey, headers, maxAttempts, backoffMs);
  }

  /**
   * Deliverable at {@code time} as the database clock tells it, so "at 08:00" does not depend on
   * this JVM's clock. A time in the past means now. Replaces a {@link #delay}.
   */
  public SendOptions deliverAt(Instant time) {
    Objects.requireNonNull(time, "deliverAt");
    return new SendOptions(
        0, time, priority, dedupKey, orderingKey, headers, maxAttempts, backoffMs);
  }

  /** Higher first among deliverable messages; between -1,000,000 and 1,000,000. */
  public SendOptions priority(int priority) {
    if (Math.abs(priority) > MAX_PRIORITY) {
      throw new IllegalArgumentException(
          "priority must be between -"
              + MAX_PRIORITY
              + " and "
              + MAX_PRIORITY
              + ", was "
              + priority);
    }
    return new SendOptions(
        delayMs, deliverAt, priority, dedupKey, orderingKey, headers, maxAttempts, backoffMs);
  }

  /** A send whose key matches a live (or recently finished) message stores nothing new. */
  public SendOptions dedupKey(String key) {
    return new SendOptions(
        delayMs,
        deliverAt,
        priority,
        Checks.key("dedupKey", key),
        orderingKey,
        headers,
        maxAttempts,
        backoffMs);
  }

  /** Messages with the same ordering key are delivered one at a time, in send order. */
  public SendOptions orderingKey(String key) {
    return new SendOptions(
        delayMs,
        deliverAt,
        priority,
        dedupKey,
        Checks.key("orderingKey", key),
        headers,
        maxAttempts,
        backoffMs);
  }

  /**
   * The message's type, such as "order.paid": the header {@code type}, which topic subscriptions
   * filter on ({@link Filter#type}).
   */
  public SendOptions type(String type) {
    if (type == null || type.isEmpty()) {
      throw new IllegalArgumentException("type must be a non-empty string, was " + type);
    }
    return header("type", type);
  }

  public SendOptions header(String name, String value) {
    Objects.requireNonNull(name, "header name");
    Objects.requireNonNull(value, "header value");
    Map<String, String> copy = new LinkedHashMap<>(headers);
    copy.put(name, value);
    return new SendOptions(
        delayMs,
        deliverAt,
        priority,
        dedupKey,
        orderingKey,
        Collections.unmodifiableMap(copy),
        maxAttempts,
        backoffMs);
  }

  /**
   * Deliveries of this message before it moves to the dead-letter store, instead of the queue's
   * setting (like Deno's {@code enqueue} option). At least 1.
   */
  public SendOptions maxAttempts(int attempts) {
    return new SendOptions(
        delayMs,
        deliverAt,
        priority,
        dedupKey,
        orderingKey,
        headers,
        Checks.maxAttempts(attempts),
        backoffMs);
  }

  /**
   * This message's retry schedule, instead of the queue's backoff: retry n waits {@code
   * delays[n-1]}; the last delay repeats (Deno's {@code backoffSchedule}).
   */
  public SendOptions backoffSchedule(Duration... delays) {
    return new SendOptions(
        delayMs,
        deliverAt,
        priority,
        dedupKey,
        orderingKey,
        headers,
        maxAttempts,
        Checks.backoffSchedule(delays));
  }

  public Duration delay() {
    return Duration.ofMillis(delayMs);
  }

  /** The absolute delivery time, or null when the delay decides. */
  public Instant deliverAt() {
    return deliverAt;
  }

  public int priority() {
    return priority;
  }

  public String dedupKey() {
    return dedupKey;
  }

  public String orderingKey() {
    return orderingKey;
  }

  public Map<String, String> headers() {
    return headers;
  }

  /** This message's own attempt limit, or null for the queue's. */
  public Integer maxAttempts() {
    return maxAttempts;
  }

  /** This message's own retry schedule, or an empty list for the queue's backoff. */
  public List<Duration> backoffSchedule() {
    return backoffMs.stream().map(Duration::ofMillis).toList();
  }

  /** The retry schedule in ms, or null for the queue's. */
  Long[] backoffMillis() {
    return backoffMs.isEmpty() ? null : backoffMs.toArray(new Long[0]);
  }

  /**
   * These options as the SQL API's option keys (those not at their default), for what the database
   * stores and sends later; a delivery time and a dedup key have no key here.
   */
  Map<String, Object> sqlOptions() {
    Map<String, Object> o = new LinkedHashMap<>();
    if (delayMs > 0) {
      o.put("delay_ms", delayMs);
    }
    if (priority != 0) {
      o.put("priority", priority);
    }
    if (orderingKey != null) {
      o.put("ordering_key", orderingKey);
    }
    if (!headers.isEmpty()) {
      o.put("headers", headers);
    }
    if (maxAttempts != null) {
      o.put("max_attempts", maxAttempts);
    }
    if (!backoffMs.isEmpty()) {
      o.put("backoff_ms", backoffMs);
    }
    return o;
  }

  @Override
  public String toString() {
    return "SendOptions[delayMs="
        + delayMs
        + ", priority="
        + priority
        + ", dedupKey="
        + dedupKey
        + ", orderingKey="
        + orderingKey
        + ", headers="
        + headers
        + ", maxAttempts="
        + maxAttempts
        + ", backoffMs="
        + backoffMs
        + "]";
  }
}
