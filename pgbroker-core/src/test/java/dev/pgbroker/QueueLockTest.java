package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.sql.Connection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Senders keep a queue from being deleted under them without locking its row: concurrent senders
 * sharing a row lock would make a MultiXact each, and running out of MultiXact space stops writes.
 */
@ExtendWith(BrokerExtension.class)
class QueueLockTest {

  @Test
  void concurrentSendersLeaveTheQueueRowUnlocked(Broker broker, DataSource ds, TestSchema s)
      throws Exception {
    broker.createQueue("q");
    try (Connection a = ds.getConnection();
        Connection b = ds.getConnection()) {
      a.setAutoCommit(false);
      b.setAutoCommit(false);
      broker.send(a, "q", 1, SendOptions.none());
      broker.send(b, "q", 2, SendOptions.none());
      broker.send(a, "q", 3, SendOptions.none().dedupKey("a")); // dedup rows had a foreign key
      broker.send(b, "q", 4, SendOptions.none().dedupKey("b"));
      // xmax is where a row lock (or the MultiXact of several) would be recorded
      assertThat(s.count("select xmax::text::bigint from %s.queue where name = 'q'")).isZero();
      a.commit();
      b.commit();
    }
    assertThat(broker.stats("q").ready()).isEqualTo(4);
  }

  @Test
  void deleteQueueWaitsForAnOpenSendAndLeavesNoMessageBehind(
      Broker broker, DataSource ds, TestSchema s) throws Exception {
    broker.createQueue("q");
    CompletableFuture<Boolean> deleted;
    try (Connection tx = ds.getConnection()) {
      tx.setAutoCommit(false);
      broker.send(tx, "q", 1, SendOptions.none());
      deleted = CompletableFuture.supplyAsync(() -> broker.deleteQueue("q"));
      Thread.sleep(300);
      assertThat(deleted).as("delete_queue waits for the open send").isNotDone();
      tx.commit();
    }
    assertThat(deleted.get(10, TimeUnit.SECONDS)).isTrue();
    assertThat(s.count("select count(*) from %s.message")).isZero();
    assertThat(broker.queues()).doesNotContain("q");
  }
}
