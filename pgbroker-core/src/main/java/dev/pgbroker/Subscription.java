package dev.pgbroker;

import java.time.Instant;

/**
 * A topic's subscription: the queue that gets a copy of each message published to the topic that
 * passes the filter.
 */
public record Subscription(String topic, String queue, Filter filter, Instant createdAt) {}
