package dev.pgbroker;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/** How one message is sent: delay, priority, dedup key, ordering key, headers. Immutable. */
public final class SendOptions {
  private static final SendOptions NONE = new SendOptions(0, 0, null, null, Map.of());

  /** Priorities are kept within this range, either sign. */
  public static final int MAX_PRIORITY = 1_000_000;

  private final long delayMs;
  private final int priority;
  private final String dedupKey;
  private final String orderingKey;
  private final Map<String, String> headers;

  private SendOptions(
      long delayMs, int priority, String dedupKey, String orderingKey, Map<String, String> h) {
    this.delayMs = delayMs;
    this.priority = priority;
    this.dedupKey = dedupKey;
    this.orderingKey = orderingKey;
    this.headers = h;
  }

  /** Deliver now, priority 0, no keys, no headers. */
  public static SendOptions none() {
    return NONE;
  }

  /** Deliverable no earlier than {@code delay} after the send commits (database time). */
  public SendOptions delay(Duration delay) {
    long ms = QueueOptions.nonNegativeMillis("delay", delay);
    return new SendOptions(ms, priority, dedupKey, orderingKey, headers);
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
    return new SendOptions(delayMs, priority, dedupKey, orderingKey, headers);
  }

  /** A send whose key matches a live (or recently finished) message stores nothing new. */
  public SendOptions dedupKey(String key) {
    return new SendOptions(delayMs, priority, Checks.key("dedupKey", key), orderingKey, headers);
  }

  /** Messages with the same ordering key are delivered one at a time, in send order. */
  public SendOptions orderingKey(String key) {
    return new SendOptions(delayMs, priority, dedupKey, Checks.key("orderingKey", key), headers);
  }

  public SendOptions header(String name, String value) {
    Objects.requireNonNull(name, "header name");
    Objects.requireNonNull(value, "header value");
    Map<String, String> copy = new LinkedHashMap<>(headers);
    copy.put(name, value);
    return new SendOptions(
        delayMs, priority, dedupKey, orderingKey, Collections.unmodifiableMap(copy));
  }

  public Duration delay() {
    return Duration.ofMillis(delayMs);
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
