package dev.pgbroker.spring;

import dev.pgbroker.Broker;
import dev.pgbroker.SendOptions;
import java.sql.Connection;
import java.util.List;
import java.util.Objects;
import javax.sql.DataSource;
import org.springframework.jdbc.datasource.DataSourceUtils;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Sends that join the Spring transaction under way: inside {@code @Transactional} (or a {@code
 * TransactionTemplate}) on the broker's DataSource a send runs on the transaction's connection, so
 * the message exists only if that transaction commits; outside one it commits on its own.
 *
 * <p>Safe to share between threads.
 */
public final class PgBrokerTemplate {
  private final Broker broker;
  private final DataSource dataSource;

  public PgBrokerTemplate(Broker broker, DataSource dataSource) {
    this.broker = Objects.requireNonNull(broker, "broker");
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
  }

  /** The broker underneath, for everything but sends (reads, dead letters, stats). */
  public Broker broker() {
    return broker;
  }

  /** Sends one message now, in the current transaction if there is one; returns its id. */
  public long send(String queue, Object payload) {
    return send(queue, payload, SendOptions.none());
  }

  /** Sends one message, in the current transaction if there is one; returns its id. */
  public long send(String queue, Object payload, SendOptions options) {
    return sendBatch(queue, List.of(payload), options).get(0);
  }

  /** Sends many messages in one statement, in the current transaction if there is one. */
  public List<Long> sendBatch(String queue, List<?> payloads) {
    return sendBatch(queue, payloads, SendOptions.none());
  }

  /** Sends many messages with the same options in one statement. */
  public List<Long> sendBatch(String queue, List<?> payloads, SendOptions options) {
    if (!inTransaction()) {
      return broker.sendBatch(queue, payloads, options);
    }
    Connection tx = DataSourceUtils.getConnection(dataSource);
    try {
      return broker.sendBatch(tx, queue, payloads, options);
    } finally {
      DataSourceUtils.releaseConnection(tx, dataSource);
    }
  }

  /**
   * True when a transaction holds a connection of this DataSource. A transaction of another
   * resource (say, a second database) cannot carry the send, which then commits on its own.
   */
  private boolean inTransaction() {
    return TransactionSynchronizationManager.isActualTransactionActive()
        && TransactionSynchronizationManager.hasResource(dataSource);
  }
}
