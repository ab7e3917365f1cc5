package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(BrokerExtension.class)
class QueueAdminTest {

  @Test
  void newQueueHasTheDefaults(Broker broker) {
    broker.createQueue("plain");

    QueueOptions o = broker.queueOptions("plain");
    assertThat(o.visibilityTimeout()).isEqualTo(QueueOptions.DEFAULT_VISIBILITY_TIMEOUT);
    assertThat(o.maxAttempts()).isEqualTo(5);
    assertThat(o.backoffSchedule()).isEmpty();
    assertThat(o.backoffBase()).isEqualTo(QueueOptions.DEFAULT_BACKOFF_BASE);
    assertThat(o.deadLetter()).isTrue();
    assertThat(o.retention()).isZero();
    assertThat(o.dedupWindow()).isZero();
    assertThat(o.maxPayloadBytes()).isEqualTo(QueueOptions.DEFAULT_MAX_PAYLOAD_BYTES);
  }

  @Test
  void createIsIdempotentAndChangesOnlyTheSettingsGiven(Broker broker) {
    broker.createQueue(
        "cfg", QueueOptions.defaults().maxAttempts(9).visibilityTimeout(Duration.ofSeconds(7)));
    broker.createQueue("cfg");
    broker.createQueue(
        "cfg",
        QueueOptions.defaults().backoffSchedule(Duration.ofSeconds(1), Duration.ofSeconds(5)));

    QueueOptions o = broker.queueOptions("cfg");
    assertThat(o.maxAttempts()).isEqualTo(9);
    assertThat(o.visibilityTimeout()).isEqualTo(Duration.ofSeconds(7));
    assertThat(o.backoffSchedule()).containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(5));

    broker.createQueue(
        "cfg",
        QueueOptions.defaults().exponentialBackoff(Duration.ofMillis(10), Duration.ofSeconds(1)));
    assertThat(broker.queueOptions("cfg").backoffSchedule()).isEmpty();
    assertThat(broker.queueOptions("cfg").backoffMax()).isEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void deleteRemovesTheQueueWithEverythingInIt(Broker broker, TestSchema s) {
    broker.createQueue("a");
    broker.createQueue("b", QueueOptions.defaults().maxAttempts(1));
    broker.sendBatch("b", List.of(1, 2));
    broker.nack(broker.read("b", 1).get(0), "x");
    assertThat(broker.queues()).containsExactly("a", "b");

    assertThat(broker.deleteQueue("b")).isTrue();
    assertThat(broker.deleteQueue("b")).isFalse();

    assertThat(broker.queues()).containsExactly("a");
    assertThat(s.count("select count(*) from %s.message")).isZero();
    assertThat(s.count("select count(*) from %s.dead_letter")).isZero();
    assertThat(s.count("select count(*) from %s.counter")).isZero();
  }

  @Test
  void statsCountMessagesByState(Broker broker) {
    broker.createQueue("st");
    broker.sendBatch("st", List.of(1, 2, 3));
    broker.send("st", 4, SendOptions.none().delay(Duration.ofHours(1)));
    broker.read("st", 1);

    QueueStats st = broker.stats("st");
    assertThat(st.ready()).isEqualTo(2);
    assertThat(st.delayed()).isEqualTo(1);
    assertThat(st.inFlight()).isEqualTo(1);
    assertThat(st.sent()).isEqualTo(4);
    assertThat(st.oldestReadyAge()).isGreaterThanOrEqualTo(Duration.ZERO);
  }
}
