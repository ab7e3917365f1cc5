package dev.pgbroker.relay;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.ShutdownSignalException;
import dev.pgbroker.Delivery;
import java.nio.charset.StandardCharsets;
import java.util.Date;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes to RabbitMQ on one channel in confirm mode: persistent, {@code mandatory} (an
 * unroutable message comes back as a refusal instead of vanishing), pgbroker's id as the AMQP
 * message-id. Reconnects by itself, at most once a second; the client's own recovery is off, so a
 * lost connection fails every unconfirmed publish at once and the relay publishes them again.
 */
final class RabbitMqSink implements Sink {
  private static final Logger log = LoggerFactory.getLogger(RabbitMqSink.class);
  private static final long RECONNECT_INTERVAL_MS = 1_000;
  private static final Pattern TOO_LARGE =
      Pattern.compile("message size (\\d+) is larger than configured max size");

  /** One channel's unconfirmed publishes by sequence number, and the ids RabbitMQ returned. */
  private static final class Open {
    final Connection connection;
    final Channel channel;
    final ConcurrentNavigableMap<Long, Pending> pending = new ConcurrentSkipListMap<>();
    final Map<String, String> returned = new ConcurrentHashMap<>();

    Open(Connection connection, Channel channel) {
      this.connection = connection;
      this.channel = channel;
    }
  }

  private record Pending(String messageId, int size, CompletableFuture<Void> confirmed) {}

  private final RelayConfig config;
  private final ConnectionFactory factory;
  private volatile String blockedBy;
  private Open open; // guarded by this
  private long nextConnectAt; // guarded by this
  private String connectError; // guarded by this
  private boolean closed; // guarded by this

  RabbitMqSink(RelayConfig config) {
    this.config = config;
    this.factory = new ConnectionFactory();
    try {
      factory.setUri(config.target);
    } catch (Exception e) {
      throw new IllegalArgumentException(
          "relay.rabbitmq.uri is not an AMQP URI (amqp://user:pass@host:port/vhost): "
              + e.getMessage(),
          e);
    }
    factory.setAutomaticRecoveryEnabled(false);
    factory.setTopologyRecoveryEnabled(false);
    factory.setConnectionTimeout(5_000);
    factory.setRequestedHeartbeat(10);
  }

  @Override
  public CompletableFuture<Void> publish(Delivery d) {
    byte[] body = d.payloadJson().getBytes(StandardCharsets.UTF_8);
    Map<String, String> h = d.headers();
    RelayConfig.Route route = config.route(d.queue());
    String exchange = h.getOrDefault(Relay.EXCHANGE_HEADER, route.exchange());
    String routingKey = h.getOrDefault(Relay.ROUTING_KEY_HEADER, route.routingKey());
    AMQP.BasicProperties props = properties(d);
    String blocked = blockedBy;
    if (blocked != null) {
      return CompletableFuture.failedFuture(
          SinkException.transientFault("RabbitMQ blocks publishers: " + blocked, null));
    }
    synchronized (this) {
      Open o;
      try {
        o = open();
      } catch (SinkException e) {
        return CompletableFuture.failedFuture(e);
      }
      long seq = o.channel.getNextPublishSeqNo();
      Pending p = new Pending(props.getMessageId(), body.length, new CompletableFuture<>());
      o.pending.put(seq, p);
      try {
        o.channel.basicPublish(exchange, routingKey, true, props, body);
      } catch (Exception e) {
        o.pending.remove(seq);
        lost(o);
        p.confirmed.completeExceptionally(
            SinkException.transientFault("publish to RabbitMQ failed: " + e.getMessage(), e));
      }
      return p.confirmed;
    }
  }

  private static AMQP.BasicProperties properties(Delivery d) {
    Map<String, Object> headers = new HashMap<>(d.headers());
    headers.put(Relay.ID_HEADER, d.id());
    headers.put(Relay.QUEUE_HEADER, d.queue());
    if (d.orderingKey() != null) {
      headers.put(Relay.ORDERING_KEY_HEADER, d.orderingKey());
    }
    return new AMQP.BasicProperties.Builder()
        .messageId(Long.toString(d.id()))
        .contentType("application/json")
        .deliveryMode(2) // persistent
        .timestamp(Date.from(d.enqueuedAt()))
        .headers(headers)
        .build();
  }

  private Open open() {
    if (closed) {
      throw SinkException.transientFault("the RabbitMQ sink is closed", null);
    }
    if (open != null && open.channel.isOpen()) {
      return open;
    }
    long now = System.currentTimeMillis();
    if (now < nextConnectAt) {
      throw SinkException.transientFault("RabbitMQ unavailable: " + connectError, null);
    }
    nextConnectAt = now + RECONNECT_INTERVAL_MS;
    try {
      Connection connection = factory.newConnection("pgbroker-relay");
      Channel channel = connection.createChannel();
      channel.confirmSelect();
      Open o = new Open(connection, channel);
      connection.addBlockedListener(
          reason -> {
            log.warn("pgbroker relay: RabbitMQ blocks publishers: {}", reason);
            blockedBy = reason;
          },
          () -> {
            log.info("pgbroker relay: RabbitMQ unblocked publishers");
            blockedBy = null;
          });
      channel.addReturnListener(
          r ->
              o.returned.put(
                  r.getProperties().getMessageId(),
                  r.getReplyCode()
                      + " "
                      + r.getReplyText()
                      + " (exchange '"
                      + r.getExchange()
                      + "', routing key '"
                      + r.getRoutingKey()
                      + "')"));
      channel.addConfirmListener(
          (seq, multiple) -> settle(o, seq, multiple, true),
          (seq, multiple) -> settle(o, seq, multiple, false));
      channel.addShutdownListener(cause -> failAll(o, cause));
      if (connectError != null) {
        log.info("pgbroker relay: connected to RabbitMQ again");
      }
      connectError = null;
      open = o;
      return o;
    } catch (Exception e) {
      if (connectError == null) {
        log.warn("pgbroker relay: cannot connect to RabbitMQ: {}", e.toString());
      }
      connectError = e.toString();
      throw SinkException.transientFault("RabbitMQ unavailable: " + connectError, e);
    }
  }

  private void settle(Open o, long seq, boolean multiple, boolean ack) {
    Map<Long, Pending> done =
        multiple ? o.pending.headMap(seq, true) : o.pending.subMap(seq, true, seq, true);
    for (Map.Entry<Long, Pending> e : done.entrySet()) {
      Pending p = e.getValue();
      o.pending.remove(e.getKey());
      String returned = o.returned.remove(p.messageId);
      if (!ack) {
        p.confirmed.completeExceptionally(
            SinkException.transientFault("RabbitMQ nacked the message (an internal error)", null));
      } else if (returned != null) {
        p.confirmed.completeExceptionally(
            SinkException.permanent("RabbitMQ returned it as unroutable: " + returned));
      } else {
        p.confirmed.complete(null);
      }
    }
  }

  /** Fails every unconfirmed publish of a channel that closed; the too-large one for good. */
  private void failAll(Open o, ShutdownSignalException cause) {
    String reason = cause.getMessage();
    Matcher tooLarge = TOO_LARGE.matcher(reason == null ? "" : reason);
    int size = tooLarge.find() ? Integer.parseInt(tooLarge.group(1)) : -1;
    if (!cause.isInitiatedByApplication()) {
      log.warn("pgbroker relay: RabbitMQ channel closed: {}", reason);
    }
    for (Long seq : o.pending.keySet()) {
      Pending p = o.pending.remove(seq);
      if (p == null) {
        continue;
      }
      p.confirmed.completeExceptionally(
          p.size == size
              ? SinkException.permanent("RabbitMQ refused it: " + reason)
              : SinkException.transientFault("RabbitMQ channel closed: " + reason, cause));
    }
  }

  /** Drops a connection whose publish failed; the next publish connects again. */
  private synchronized void lost(Open o) {
    if (open == o) {
      open = null;
      closeQuietly(o);
    }
  }

  private static void closeQuietly(Open o) {
    try {
      o.connection.abort(2_000);
    } catch (RuntimeException ignored) {
      // already gone
    }
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (open != null) {
      try {
        open.connection.close(2_000);
      } catch (Exception e) {
        closeQuietly(open);
      }
      open = null;
    }
  }
}
