package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(BrokerExtension.class)
class OrderingKeyTest {
  record Step(String key, int seq) {}

  @Test
  void sameKeyIsDeliveredOneAtATimeInSendOrderUnderFourConsumers(Broker broker) throws Exception {
    broker.createQueue("ordered");
    int keys = 8;
    int perKey = 50;
    for (int seq = 0; seq < perKey; seq++) {
      for (int k = 0; k < keys; k++) {
        broker.send("ordered", new Step("k" + k, seq), SendOptions.none().orderingKey("k" + k));
      }
    }
    // Each delivery's holding interval runs from receive returning to ack starting; a correct
    // broker leases the next message of a key only after the previous ack commits, so one key's
    // intervals never overlap. The short sleep widens them so a violation would show.
    Map<String, List<long[]>> held = new ConcurrentHashMap<>();
    AtomicInteger sameKeyInOneBatch = new AtomicInteger();
    AtomicInteger done = new AtomicInteger();
    ExecutorService consumers = Executors.newFixedThreadPool(4);
    List<Future<?>> running = new ArrayList<>();
    for (int c = 0; c < 4; c++) {
      running.add(
          consumers.submit(
              () -> {
                while (done.get() < keys * perKey) {
                  List<Delivery> got = broker.read("ordered", 5);
                  long received = System.nanoTime();
                  if (got.stream().map(Delivery::orderingKey).distinct().count() < got.size()) {
                    sameKeyInOneBatch.incrementAndGet();
                  }
                  for (Delivery d : got) {
                    Step s = d.payload(Step.class);
                    Thread.sleep(1);
                    held.computeIfAbsent(
                            s.key(), x -> Collections.synchronizedList(new ArrayList<>()))
                        .add(new long[] {received, System.nanoTime(), s.seq()});
                    broker.ack(d);
                    done.incrementAndGet();
                  }
                }
                return null;
              }));
    }
    for (Future<?> f : running) {
      f.get(60, TimeUnit.SECONDS);
    }
    consumers.shutdown();

    assertThat(sameKeyInOneBatch).hasValue(0);
    assertThat(held).hasSize(keys);
    for (List<long[]> intervals : held.values()) {
      List<long[]> byStart = new ArrayList<>(intervals);
      byStart.sort(Comparator.comparingLong(i -> i[0]));
      assertThat(byStart)
          .extracting(i -> (int) i[2])
          .as("send order")
          .containsExactlyElementsOf(IntStream.range(0, perKey).boxed().toList());
      for (int i = 1; i < byStart.size(); i++) {
        assertThat(byStart.get(i)[0])
            .as("received before the previous of its key was acked")
            .isGreaterThan(byStart.get(i - 1)[1]);
      }
    }
  }

  @Test
  void failingHeadHoldsItsKeyUntilItSucceeds(Broker broker) {
    broker.createQueue("held", QueueOptions.defaults().backoffSchedule(Duration.ZERO));
    broker.send("held", "first", SendOptions.none().orderingKey("acct-1"));
    broker.send("held", "second", SendOptions.none().orderingKey("acct-1"));
    broker.send("held", "other", SendOptions.none().orderingKey("acct-2"));

    List<Delivery> got = broker.read("held", 10);
    assertThat(got)
        .extracting(d -> d.payload(String.class))
        .containsExactlyInAnyOrder("first", "other");
    Delivery first =
        got.stream().filter(d -> d.payload(String.class).equals("first")).findFirst().get();
    broker.nack(first, "try again");

    List<Delivery> retry = broker.read("held", 10);
    assertThat(retry).extracting(d -> d.payload(String.class)).containsExactly("first");
    broker.ack(retry.get(0));
    assertThat(broker.read("held", 10))
        .extracting(d -> d.payload(String.class))
        .containsExactly("second");
  }

  @Test
  void deadLetteredHeadReleasesItsKey(Broker broker, TestSchema s) {
    broker.createQueue("release", QueueOptions.defaults().maxAttempts(1));
    broker.send("release", "head", SendOptions.none().orderingKey("k"));
    broker.send("release", "next", SendOptions.none().orderingKey("k"));

    broker.nack(broker.read("release", 10).get(0), "fatal");

    assertThat(broker.read("release", 10))
        .extracting(d -> d.payload(String.class))
        .containsExactly("next");
  }

  @Test
  void olderMessageThatCommitsLateWaitsWhileANewerOneOfItsKeyIsLeased(Broker broker, DataSource ds)
      throws Exception {
    broker.createQueue("late");
    Delivery newer;
    try (Connection tx = ds.getConnection()) {
      tx.setAutoCommit(false);
      broker.send(tx, "late", "older", SendOptions.none().orderingKey("k")); // the smaller id
      broker.send("late", "newer", SendOptions.none().orderingKey("k")); // commits first
      newer = broker.read("late", 10).get(0);
      tx.commit();
    }
    assertThat(newer.payload(String.class)).isEqualTo("newer");

    assertThat(broker.read("late", 10)).as("the key is in flight").isEmpty();
    broker.ack(newer);
    assertThat(broker.read("late", 10))
        .extracting(d -> d.payload(String.class))
        .containsExactly("older");
  }

  @Test
  void replayedDeadLetterWaitsWhileANewerMessageOfItsKeyIsLeased(Broker broker) {
    broker.createQueue("replayed", QueueOptions.defaults().maxAttempts(1));
    long head = broker.send("replayed", "head", SendOptions.none().orderingKey("k"));
    broker.send("replayed", "next", SendOptions.none().orderingKey("k"));
    broker.nack(broker.read("replayed", 10).get(0), "fatal");
    Delivery next = broker.read("replayed", 10).get(0);

    assertThat(broker.deadLetters("replayed").replay(head)).isTrue();

    assertThat(broker.read("replayed", 10)).as("the key is in flight").isEmpty();
    broker.ack(next);
    assertThat(broker.read("replayed", 10)).extracting(Delivery::id).containsExactly(head);
  }
}
