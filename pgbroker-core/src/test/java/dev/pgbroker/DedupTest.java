package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(BrokerExtension.class)
class DedupTest {
  private static final SendOptions KEY = SendOptions.none().dedupKey("order-42");

  @Test
  void sendWithTheKeyOfALiveMessageReturnsItsIdAndStoresNothing(Broker broker, TestSchema s) {
    broker.createQueue("dedup");
    long first = broker.send("dedup", "a", KEY);
    long second = broker.send("dedup", "b", KEY);

    assertThat(second).isEqualTo(first);
    assertThat(s.count("select count(*) from %s.message")).isEqualTo(1);
    assertThat(broker.stats("dedup").sent()).isEqualTo(1);
  }

  @Test
  void keyIsFreeOnceTheMessageIsAckedWhenThereIsNoWindow(Broker broker) {
    broker.createQueue("nowindow");
    long first = broker.send("nowindow", "a", KEY);
    broker.ack(broker.read("nowindow", 1).get(0));

    assertThat(broker.send("nowindow", "b", KEY)).isNotEqualTo(first);
  }

  @Test
  void keyStillCountsWithinTheDedupWindowAfterAck(Broker broker) {
    broker.createQueue("window", QueueOptions.defaults().dedupWindow(Duration.ofHours(1)));
    long first = broker.send("window", "a", KEY);
    broker.ack(broker.read("window", 1).get(0));

    assertThat(broker.send("window", "b", KEY)).isEqualTo(first);
    assertThat(broker.read("window", 1)).isEmpty();
  }

  @Test
  void keyIsFreeAfterTheWindowEnds(Broker broker) throws Exception {
    broker.createQueue("short", QueueOptions.defaults().dedupWindow(Duration.ofMillis(200)));
    long first = broker.send("short", "a", KEY);
    broker.ack(broker.read("short", 1).get(0));
    Thread.sleep(300);

    assertThat(broker.send("short", "b", KEY)).isNotEqualTo(first);
  }

  @Test
  void concurrentSendersWithOneKeyStoreOneMessage(Broker broker, TestSchema s) throws Exception {
    broker.createQueue("race");
    Set<Long> ids = ConcurrentHashMap.newKeySet();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    CountDownLatch go = new CountDownLatch(1);
    for (int i = 0; i < 8; i++) {
      int n = i;
      pool.submit(
          () -> {
            go.await();
            ids.add(broker.send("race", n, KEY));
            return null;
          });
    }
    go.countDown();
    pool.shutdown();
    assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();

    assertThat(ids).hasSize(1);
    assertThat(s.count("select count(*) from %s.message")).isEqualTo(1);
  }

  @Test
  void batchCannotCarryOneDedupKey(Broker broker) {
    broker.createQueue("b");
    assertThatThrownBy(() -> broker.sendBatch("b", List.of(1, 2), KEY))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("dedup key");
  }

  @Test
  void duplicateSendInAnOpenTransactionDoesNotBlockTheOriginalsAck(Broker broker, DataSource ds)
      throws Exception {
    broker.createQueue("held");
    long id = broker.send("held", "a", KEY);
    Delivery d = broker.read("held", 1).get(0);
    ExecutorService other = Executors.newSingleThreadExecutor();
    try (Connection tx = ds.getConnection()) {
      tx.setAutoCommit(false);
      assertThat(broker.send(tx, "held", "b", KEY)).isEqualTo(id);

      Future<?> ack = other.submit(() -> broker.ack(d));
      ack.get(10, TimeUnit.SECONDS); // a lock on the key's row would make this wait for tx
      tx.rollback();
    } finally {
      other.shutdownNow();
    }
    assertThat(broker.stats("held").acked()).isEqualTo(1);
  }
}
