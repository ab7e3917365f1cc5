package dev.pgbroker;

import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/** How one message is sent: delay, priority, dedup key, ordering key, headers. Immutable. */
public final class SendOptions {
  private static final SendOptions NONE = new SendOptions(0, null, 0, null, null, Map.of());

  /** Priorities are kept within this range, either sign. */
  public static final int MAX_PRIORITY = 1_000_000;

  private final long delayMs;
  private final Instant deliverAt;
  private final int priority;
  private final String dedupKey;
  private final String orderingKey;
  private final Map<String, String> headers;

  private SendOptions(
      long delayMs,
      Instant deliverAt,
      int priority,
      String dedupKey,
      String orderingKey,
      Map<String, String> h) {
    this.delayMs = delayMs;
    this.deliverAt = deliverAt;
    this.priority = priority;
    this.dedupKey = dedupKey;
    this.orderingKey = orderingKey;
    this.headers = h;
  }

  /** Deliver now, priority 0, no keys, no headers. */
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
    return new SendOptions(ms, null, priority, dedupKey, orderingKey, headers);
  }

  /**
   * Deliverable at {@code time} as the database clock tells it, so "at 08:00" does not depend on
   * this JVM's clock. A time in the past means now. Replaces a {@link #delay}.
   */
  public SendOptions deliverAt(Instant time) {
    Objects.requireNonNull(time, "deliverAt");
    return new SendOptions(0, time, priority, dedupKey, orderingKey, headers);
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
    return new SendOptions(delayMs, deliverAt, priority, dedupKey, orderingKey, headers);
  }

  /** A send whose key matches a live (or recently finished) message stores nothing new. */
  public SendOptions dedupKey(String key) {
    return new SendOptions(
        delayMs, deliverAt, priority, Checks.key("dedupKey", key), orderingKey, headers);
  }

  /** Messages with the same ordering key are delivered one at a time, in send order. */
  public SendOptions orderingKey(String key) {
    return new SendOptions(
        delayMs, deliverAt, priority, dedupKey, Checks.key("orderingKey", key), headers);
  }

  public SendOptions header(String name, String value) {
    Objects.requireNonNull(name, "header name");
    Objects.requireNonNull(value, "header value");
    Map<String, String> copy = new LinkedHashMap<>(headers);
    copy.put(name, value);
    return new SendOptions(
        delayMs, deliverAt, priority, dedupKey, orderingKey, Collections.unmodifiableMap(copy));
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
        + "]";
  }
}
