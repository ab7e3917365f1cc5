package dev.pgbroker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Topics and their subscriptions. A subscription is a queue of its own that gets a copy of every
 * message published to its topic after it was made, so everything about queues (visibility timeout,
 * retries, dead letters, ordering keys, stats, workers) applies to it, and consumers of one
 * subscription compete. Publish with {@link Broker#publish}. Safe to share between threads.
 */
public final class Topics {
  private final TopicSql sql;
  private final ObjectMapper mapper;

  Topics(TopicSql sql, ObjectMapper mapper) {
    this.sql = sql;
    this.mapper = mapper;
  }

  /** Creates the topic; does nothing if it exists. Subscribing creates it too. */
  public void create(String topic) {
    sql.create(Checks.name("topic", topic));
  }

  /**
   * Deletes the topic and its subscriptions, whose queues go with everything they hold. False if it
   * did not exist.
   */
  public boolean delete(String topic) {
    return sql.delete(Checks.name("topic", topic));
  }

  /** Subscribes the queue {@code subscription} (made if missing) to every message of the topic. */
  public void subscribe(String topic, String subscription) {
    subscribe(topic, subscription, Filter.all(), QueueOptions.defaults());
  }

  /** Subscribes to the messages of the topic that pass the filter. */
  public void subscribe(String topic, String subscription, Filter filter) {
    subscribe(topic, subscription, filter, QueueOptions.defaults());
  }

  /**
   * Subscribes to the messages of the topic that pass the filter, with these settings for the
   * subscription's queue. Idempotent; called again, it changes the filter and the settings given. A
   * queue belongs to at most one topic.
   */
  public void subscribe(String topic, String subscription, Filter filter, QueueOptions options) {
    Checks.name("topic", topic);
    Checks.name("subscription", subscription);
    Objects.requireNonNull(filter, "filter");
    Objects.requireNonNull(options, "options");
    Map<String, Object> json = new LinkedHashMap<>(options.given());
    json.put("filter", filter.headers());
    try {
      sql.subscribe(topic, subscription, mapper.writeValueAsString(json));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write subscription options as JSON", e);
    }
  }

  /**
   * Ends the subscription: its queue is deleted with the copies still in it, its dead letters and
   * its archive. False if the queue did not subscribe to the topic.
   */
  public boolean unsubscribe(String topic, String subscription) {
    return sql.unsubscribe(Checks.name("topic", topic), Checks.name("subscription", subscription));
  }

  /** Names of all topics, sorted. */
  public List<String> names() {
    return sql.names();
  }

  /** The topic's subscriptions, by queue name; {@link UnknownTopicException} if it is missing. */
  public List<Subscription> subscriptions(String topic) {
    return sql.subscriptions(Checks.name("topic", topic));
  }

  /** Every subscription of every topic, by topic and queue name. */
  public List<Subscription> subscriptions() {
    return sql.subscriptions(null);
  }
}
