package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.pgbroker.testing.BrokerExtension;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(BrokerExtension.class)
class LeaseTest {

  @Test
  void expiredLeaseIsRedeliveredAndTheFirstConsumersLateAckIsRefused(Broker broker) {
    broker.createQueue("slow");
    broker.send("slow", "work");
    Delivery first = broker.read("slow", 1, Duration.ofMillis(300)).get(0);

    List<Delivery> again =
        await()
            .atMost(Duration.ofSeconds(5))
            .until(() -> broker.read("slow", 1), got -> !got.isEmpty());

    Delivery second = again.get(0);
    assertThat(second.id()).isEqualTo(first.id());
    assertThat(second.attempt()).isEqualTo(2);
    assertThat(second.lease()).isNotEqualTo(first.lease());
    assertThatThrownBy(() -> broker.ack(first))
        .isInstanceOf(StaleLeaseException.class)
        .hasMessageContaining("message " + first.id())
        .hasMessageContaining("no longer held");
    assertThatThrownBy(() -> broker.nack(first, "late")).isInstanceOf(StaleLeaseException.class);
    assertThatThrownBy(() -> broker.extend(first, Duration.ofSeconds(5)))
        .isInstanceOf(StaleLeaseException.class);
    assertThat(broker.ackAll(List.of(first, second))).containsExactly(first);
    assertThat(broker.stats("slow").acked()).isEqualTo(1);
  }

  @Test
  void ackingTwiceIsRefusedTheSecondTime(Broker broker) {
    broker.createQueue("once");
    broker.send("once", 1);
    Delivery d = broker.read("once", 1).get(0);
    broker.ack(d);

    assertThatThrownBy(() -> broker.ack(d)).isInstanceOf(StaleLeaseException.class);
  }

  @Test
  void extendedLeaseOutlivesTheVisibilityTimeout(Broker broker) throws Exception {
    broker.createQueue("long", QueueOptions.defaults().visibilityTimeout(Duration.ofMillis(1000)));
    broker.send("long", "work");
    Delivery d = broker.read("long", 1).get(0);

    for (int i = 0; i < 4; i++) { // 1.2 s in all, past the 1 s timeout, with margin per step
      Thread.sleep(300);
      broker.extend(d, Duration.ofMillis(1000));
      assertThat(broker.read("long", 1)).as("still leased after %s ms", (i + 1) * 300).isEmpty();
    }
    broker.ack(d);
  }

  @Test
  void nackRetriesAfterTheGivenDelayAndRecordsTheError(Broker broker) {
    broker.createQueue("retry");
    broker.send("retry", "x");
    Delivery d = broker.read("retry", 1).get(0);

    assertThat(broker.nack(d, "boom", Duration.ofMillis(300))).isTrue();

    assertThat(broker.read("retry", 1)).as("backing off").isEmpty();
    Delivery retry =
        await()
            .atMost(Duration.ofSeconds(5))
            .until(() -> broker.read("retry", 1), got -> !got.isEmpty())
            .get(0);
    assertThat(retry.attempt()).isEqualTo(2);
    QueueStats stats = broker.stats("retry");
    assertThat(stats.failed()).isEqualTo(1);
    assertThat(stats.inFlight()).isEqualTo(1);
  }

  @Test
  void backoffScheduleSetsTheRetryDelay(Broker broker) {
    broker.createQueue("sched", QueueOptions.defaults().backoffSchedule(Duration.ofHours(1)));
    broker.send("sched", "x");
    broker.nack(broker.read("sched", 1).get(0), "fail");

    QueueStats stats = broker.stats("sched");
    assertThat(stats.delayed()).isEqualTo(1);
    assertThat(stats.ready()).isZero();
  }
}
