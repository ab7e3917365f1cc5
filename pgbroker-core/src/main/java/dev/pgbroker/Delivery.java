package dev.pgbroker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

/**
 * One delivery of a message: the message and the lease that lets its holder ack, nack or extend it.
 * Immutable and safe to share between threads.
 */
public final class Delivery {
  private final String queue;
  private final long id;
  private final UUID lease;
  private final int attempt;
  private final String payload;
  private final Map<String, String> headers;
  private final Instant enqueuedAt;
  private final int priority;
  private final String orderingKey;
  private final ObjectMapper mapper;

  Delivery(
      String queue,
      long id,
      UUID lease,
      int attempt,
      String payload,
      Map<String, String> headers,
      Instant enqueuedAt,
      int priority,
      String orderingKey,
      ObjectMapper mapper) {
    this.queue = queue;
    this.id = id;
    this.lease = lease;
    this.attempt = attempt;
    this.payload = payload;
    this.headers = headers;
    this.enqueuedAt = enqueuedAt;
    this.priority = priority;
    this.orderingKey = orderingKey;
    this.mapper = mapper;
  }

  public String queue() {
    return queue;
  }

  public long id() {
    return id;
  }

  /** The lease token; ack, nack and extend present it and are refused once it is stale. */
  public UUID lease() {
    return lease;
  }

  /**
   * 1 for the first delivery, 2 for the first retry, and so on; counted from 1 again after a replay
   * from the dead letters.
   */
  public int attempt() {
    return attempt;
  }

  /** The payload as JSON text. */
  public String payloadJson() {
    return payload;
  }

  /** The payload read into {@code type} with the broker's Jackson mapper. */
  public <T> T payload(Class<T> type) {
    try {
      return mapper.readValue(payload, type);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "payload of message "
              + id
              + " does not map to "
              + type.getName()
              + ": "
              + e.getOriginalMessage(),
          e);
    }
  }

  public Map<String, String> headers() {
    return headers;
  }

  public Instant enqueuedAt() {
    return enqueuedAt;
  }

  public int priority() {
    return priority;
  }

  /** The ordering key, or null. */
  public String orderingKey() {
    return orderingKey;
  }

  @Override
  public String toString() {
    return "Delivery[queue="
        + queue
        + ", id="
        + id
        + ", attempt="
        + attempt
        + ", lease="
        + lease
        + "]";
  }
}
