package dev.pgbroker.spring;

import dev.pgbroker.Delivery;
import dev.pgbroker.WorkerListener;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import javax.sql.DataSource;
import org.springframework.jdbc.datasource.ConnectionHolder;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionSynchronizationUtils;

/**
 * Makes the worker's acknowledging transaction the Spring transaction of a transactional listener:
 * its connection is bound to the DataSource, so {@code JdbcTemplate}, {@link PgBrokerTemplate} and
 * a {@code @Transactional} method (which joins it) all write in it. The worker commits it after the
 * ack, on the handler's thread, and then reports success on that same thread: only then do
 * registered {@code afterCommit} callbacks run.
 */
final class ListenerTransactions implements WorkerListener {
  private final DataSource dataSource;
  private final ThreadLocal<List<TransactionSynchronization>> awaitingCommit = new ThreadLocal<>();

  ListenerTransactions(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /** Work that may throw anything a listener throws. */
  @FunctionalInterface
  interface Work {
    void run() throws Exception;
  }

  void run(Connection tx, Work work) throws Exception {
    // "Transaction active" makes a @Transactional method join this transaction.
    ConnectionHolder holder = new ConnectionHolder(tx, true);
    holder.setSynchronizedWithTransaction(true);
    TransactionSynchronizationManager.bindResource(dataSource, holder);
    TransactionSynchronizationManager.initSynchronization();
    TransactionSynchronizationManager.setActualTransactionActive(true);
    List<TransactionSynchronization> rolledBack = null;
    try {
      work.run();
      if (holder.isRollbackOnly()) {
        throw new IllegalStateException(
            "the listener's transaction was marked rollback-only (a @Transactional part of it"
                + " failed); its writes are rolled back and the message retried");
      }
      TransactionSynchronizationUtils.triggerBeforeCommit(false);
      TransactionSynchronizationUtils.triggerBeforeCompletion();
      awaitingCommit.set(TransactionSynchronizationManager.getSynchronizations());
    } catch (Exception | Error e) {
      rolledBack = TransactionSynchronizationManager.getSynchronizations();
      throw e;
    } finally {
      TransactionSynchronizationManager.clear();
      TransactionSynchronizationManager.unbindResource(dataSource);
      if (rolledBack != null) {
        TransactionSynchronizationUtils.invokeAfterCompletion(
            rolledBack, TransactionSynchronization.STATUS_ROLLED_BACK);
      }
    }
  }

  @Override
  public void succeeded(Delivery delivery, Duration took) {
    List<TransactionSynchronization> s = take();
    if (s != null) {
      TransactionSynchronizationUtils.invokeAfterCommit(s);
      TransactionSynchronizationUtils.invokeAfterCompletion(
          s, TransactionSynchronization.STATUS_COMMITTED);
    }
  }

  @Override
  public void failed(Delivery delivery, Throwable error, Duration took, boolean willRetry) {
    rolledBack();
  }

  @Override
  public void leaseLost(Delivery delivery) {
    rolledBack();
  }

  private void rolledBack() {
    List<TransactionSynchronization> s = take();
    if (s != null) {
      TransactionSynchronizationUtils.invokeAfterCompletion(
          s, TransactionSynchronization.STATUS_ROLLED_BACK);
    }
  }

  private List<TransactionSynchronization> take() {
    List<TransactionSynchronization> s = awaitingCommit.get();
    awaitingCommit.remove();
    return s;
  }
}
