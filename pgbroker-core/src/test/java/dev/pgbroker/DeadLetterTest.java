package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pgbroker.testing.BrokerExtension;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(BrokerExtension.class)
class DeadLetterTest {
  private static final QueueOptions FAST_RETRIES =
      QueueOptions.defaults().maxAttempts(3).backoffSchedule(Duration.ZERO);

  @Test
  void alwaysFailingMessageIsDeadLetteredAfterExactlyMaxAttemptsWithEveryError(Broker broker) {
    broker.createQueue("fails", FAST_RETRIES);
    long id = broker.send("fails", "poison");

    int deliveries = 0;
    for (int i = 0; i < 10; i++) {
      List<Delivery> got = broker.read("fails", 10);
      if (got.isEmpty()) {
        break;
      }
      deliveries++;
      broker.nack(got.get(0), "attempt " + got.get(0).attempt() + " failed");
    }

    assertThat(deliveries).isEqualTo(3);
    List<DeadLetter> dead = broker.deadLetters("fails").list(10);
    assertThat(dead).hasSize(1);
    DeadLetter d = dead.get(0);
    assertThat(d.id()).isEqualTo(id);
    assertThat(d.attempts()).isEqualTo(3);
    assertThat(d.errors())
        .extracting(DeadLetter.AttemptError::error)
        .containsExactly("attempt 1 failed", "attempt 2 failed", "attempt 3 failed");
    assertThat(d.errors()).extracting(DeadLetter.AttemptError::attempt).containsExactly(1, 2, 3);
    assertThat(d.payloadJson()).isEqualTo("\"poison\"");
    QueueStats stats = broker.stats("fails");
    assertThat(stats.dead()).isEqualTo(1);
    assertThat(stats.deadLettered()).isEqualTo(1);
    assertThat(stats.failed()).isEqualTo(3);
  }

  @Test
  void replayPutsTheMessageBackWithItsIdAndAttemptsReset(Broker broker) {
    broker.createQueue("replay", FAST_RETRIES.maxAttempts(1));
    long id = broker.send("replay", "x");
    broker.nack(broker.read("replay", 1).get(0), "bug");
    assertThat(broker.read("replay", 1)).isEmpty();

    assertThat(broker.deadLetters("replay").replay(id)).isTrue();

    Delivery again = broker.read("replay", 1).get(0);
    assertThat(again.id()).isEqualTo(id);
    assertThat(again.attempt()).isEqualTo(1);
    broker.ack(again);
    assertThat(broker.deadLetters("replay").list(10)).isEmpty();
    assertThat(broker.deadLetters("replay").replay(id)).as("nothing left to replay").isFalse();
  }

  @Test
  void replayByErrorTextOrAllAndPurge(Broker broker) {
    broker.createQueue("many", FAST_RETRIES.maxAttempts(1));
    broker.sendBatch("many", List.of(1, 2, 3, 4));
    for (Delivery d : broker.read("many", 10)) {
      broker.nack(d, d.payload(Integer.class) % 2 == 0 ? "timeout talking to bank" : "bad card");
    }
    DeadLetterStore store = broker.deadLetters("many");
    assertThat(store.list(10)).hasSize(4);

    assertThat(store.replayWhereErrorContains("attempt"))
        .as("the errors' JSON keys are not their text")
        .isZero();
    assertThat(store.replayWhereErrorContains("timeout")).isEqualTo(2);
    assertThat(broker.read("many", 10))
        .extracting(d -> d.payload(Integer.class))
        .containsExactlyInAnyOrder(2, 4);
    long first = store.list(10).get(0).id();
    assertThat(store.find(first)).isPresent();
    assertThat(store.purge(first)).isTrue();
    assertThat(store.find(first)).isEmpty();
    assertThat(store.replayAll()).isEqualTo(1);
    assertThat(store.purgeAll()).isZero();
  }

  @Test
  void deadLetterSignalSkipsRemainingAttempts(Broker broker) {
    broker.createQueue("poison");
    broker.send("poison", "x");
    broker.deadLetter(broker.read("poison", 1).get(0), "cannot ever parse");

    DeadLetter d = broker.deadLetters("poison").list(1).get(0);
    assertThat(d.attempts()).isEqualTo(1);
    assertThat(d.lastError()).isEqualTo("cannot ever parse");
  }

  @Test
  void leaseRunningOutOnTheLastAttemptDeadLetters(Broker broker) {
    broker.createQueue("crashy", QueueOptions.defaults().maxAttempts(2));
    broker.send("crashy", "x");
    broker.read("crashy", 1, Duration.ofMillis(50));
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> broker.read("crashy", 1, Duration.ofMillis(50)), got -> !got.isEmpty());

    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () -> {
              assertThat(broker.read("crashy", 1)).isEmpty();
              assertThat(broker.deadLetters("crashy").list(1))
                  .singleElement()
                  .satisfies(
                      d ->
                          assertThat(d.errors())
                              .as("each lease that ran out is in the history")
                              .extracting(DeadLetter.AttemptError::attempt)
                              .containsExactly(1, 2));
              assertThat(broker.deadLetters("crashy").list(1).get(0).lastError())
                  .contains("lease expired");
            });
  }

  @Test
  void queueWithoutDeadLetteringDropsExhaustedMessages(
      Broker broker, dev.pgbroker.testing.TestSchema s) {
    broker.createQueue("drop", FAST_RETRIES.maxAttempts(1).deadLetter(false));
    broker.send("drop", "x");
    assertThat(broker.nack(broker.read("drop", 1).get(0), "no")).isFalse();

    assertThat(broker.deadLetters("drop").list(10)).isEmpty();
    assertThat(s.count("select count(*) from %s.message")).isZero();
  }
}
