package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A message's own retry policy (max attempts, backoff schedule) over its queue's. */
@ExtendWith(BrokerExtension.class)
class RetryPolicyTest {

  @Test
  void messageMaxAttemptsOverridesTheQueuesInNack(Broker broker) {
    broker.createQueue("p", QueueOptions.defaults().maxAttempts(5).backoffSchedule(Duration.ZERO));
    long once = broker.send("p", "once", SendOptions.none().maxAttempts(1));
    long many = broker.send("p", "many", SendOptions.none().maxAttempts(7));
    broker.send("p", "queue's");

    int deliveries = 0;
    for (List<Delivery> got; !(got = broker.read("p", 10)).isEmpty(); ) {
      for (Delivery d : got) {
        deliveries++;
        broker.nack(d, "no");
      }
    }

    assertThat(deliveries).isEqualTo(1 + 7 + 5);
    assertThat(broker.deadLetters("p").list(10))
        .extracting(DeadLetter::id, DeadLetter::attempts)
        .contains(
            org.assertj.core.groups.Tuple.tuple(once, 1),
            org.assertj.core.groups.Tuple.tuple(many, 7));
  }

  @Test
  void messageMaxAttemptsDecidesWhenARunOutLeaseDeadLettersInRead(Broker broker) {
    broker.createQueue("lease", QueueOptions.defaults().maxAttempts(5));
    long plain = broker.send("lease", "x", SendOptions.none().maxAttempts(1));
    long keyed = broker.send("lease", "y", SendOptions.none().maxAttempts(1).orderingKey("k"));
    assertThat(broker.read("lease", 10, Duration.ofMillis(20))).hasSize(2);

    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () -> {
              assertThat(broker.read("lease", 10)).isEmpty();
              assertThat(broker.deadLetters("lease").list(10))
                  .extracting(DeadLetter::id)
                  .containsExactly(plain, keyed);
            });
  }

  @Test
  void messageBackoffScheduleOverridesTheQueuesAndItsLastEntryRepeats(Broker broker, TestSchema s) {
    broker.createQueue("b", QueueOptions.defaults().backoffSchedule(Duration.ofHours(1)));
    long quick =
        broker.send(
            "b", "q", SendOptions.none().backoffSchedule(Duration.ZERO, Duration.ofMinutes(30)));
    long slow = broker.send("b", "s");
    for (Delivery d : broker.read("b", 10)) {
      broker.nack(d, "no");
    }
    Delivery again = broker.read("b", 10).get(0);
    assertThat(again.id()).as("its own first delay, 0").isEqualTo(quick);
    broker.nack(again, "no");

    Instant now = Instant.now();
    assertThat(broker.messages("b").find(quick).orElseThrow().visibleAt())
        .as("its own second delay, 30 min")
        .isBetween(now.plus(Duration.ofMinutes(25)), now.plus(Duration.ofMinutes(35)));
    assertThat(broker.messages("b").find(slow).orElseThrow().visibleAt())
        .as("the queue's schedule, 1 h")
        .isAfter(now.plus(Duration.ofMinutes(55)));
    assertThat(s.count("select %s._backoff_ms(q, 9, array[0, 1800000]) from %s.queue q"))
        .as("the last entry repeats")
        .isEqualTo(1_800_000);
  }

  @Test
  void sqlSendOptionsGiveTheSamePolicy(Broker broker, TestSchema s) {
    broker.createQueue("sql", QueueOptions.defaults().maxAttempts(5));
    s.execute("select %s.send('sql', '1', '{\"max_attempts\": 1, \"backoff_ms\": [0]}')");
    s.execute(
        "select %s.send_batch('sql', array['2', '3']::jsonb[],"
            + " '{\"max_attempts\": 2, \"backoff_ms\": [3600000]}')");
    assertThat(s.count("select count(*) from %s.message where max_attempts is not null"))
        .isEqualTo(3);
    assertThat(
            s.count("select count(*) from %s.message where backoff_ms = array[3600000]::bigint[]"))
        .isEqualTo(2);

    for (Delivery d : broker.read("sql", 10)) {
      assertThat(broker.nack(d, "no")).isEqualTo(d.payload(Integer.class) != 1);
    }
    assertThat(broker.deadLetters("sql").list(10)).hasSize(1);
    assertThat(broker.read("sql", 10)).as("retries an hour away").isEmpty();
  }

  @Test
  void badPoliciesAreRefusedOnBothFacesNamingTheLimit(Broker broker, TestSchema s) {
    broker.createQueue("bad");
    assertThatThrownBy(() -> SendOptions.none().maxAttempts(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxAttempts must be >= 1, was 0");
    assertThatThrownBy(() -> SendOptions.none().backoffSchedule(new Duration[0]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("backoffSchedule needs at least one delay");
    assertThatThrownBy(() -> SendOptions.none().backoffSchedule(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("backoffSchedule delay must be >= 0, was PT-0.001S");
    assertThatThrownBy(() -> SendOptions.none().backoffSchedule(Duration.ofDays(365L * 40_000)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must be at most 1000000000000000 ms");
    for (String[] bad :
        new String[][] {
          {"{\"max_attempts\": 0}", "max_attempts must be >= 1, was 0"},
          {"{\"max_attempts\": 1.5}", "max_attempts must be a whole number from 0 to 2147483647"},
          {"{\"max_attempts\": \"3\"}", "max_attempts must be a whole number"},
          {"{\"max_attempts\": 3e9}", "max_attempts must be a whole number from 0 to 2147483647"},
          {"{\"backoff_ms\": []}", "backoff_ms must be a non-empty array of whole numbers"},
          {"{\"backoff_ms\": 5}", "backoff_ms must be a non-empty array of whole numbers"},
          {"{\"backoff_ms\": [-1]}", "backoff_ms must be a non-empty array of whole numbers"},
          {"{\"backoff_ms\": [1e30]}", "from 0 to 1e15, was [1000000000000000000000000000000]"},
        }) {
      assertThatThrownBy(() -> s.execute("select %s.send('bad', '1', '" + bad[0] + "')"))
          .as(bad[0])
          .satisfies(
              e ->
                  assertThat(((java.sql.SQLException) e.getCause()).getSQLState())
                      .isEqualTo("PB002"))
          .hasStackTraceContaining(bad[1]);
      assertThatThrownBy(
              () -> s.execute("select %s.send_batch('bad', array['1']::jsonb[], '" + bad[0] + "')"))
          .as(bad[0])
          .hasStackTraceContaining(bad[1]);
    }
    assertThatThrownBy(
            () ->
                s.execute(
                    "select %s._send('bad', array['1']::jsonb[], null, 0, null, 0, null,"
                        + " null, false, 0, null)"))
        .hasStackTraceContaining("max_attempts must be >= 1, was 0");
    assertThatThrownBy(
            () ->
                s.execute(
                    "select %s._send('bad', array['1']::jsonb[], null, 0, null, 0, null,"
                        + " null, false, null, array[]::bigint[])"))
        .hasStackTraceContaining("backoff_ms must be a non-empty array");
    assertThat(s.count("select count(*) from %s.message")).isZero();
  }

  @Test
  void replayKeepsTheMessagesOwnPolicy(Broker broker) {
    broker.createQueue(
        "keep", QueueOptions.defaults().maxAttempts(5).backoffSchedule(Duration.ZERO));
    long id = broker.send("keep", "x", SendOptions.none().maxAttempts(1));
    broker.nack(broker.read("keep", 1).get(0), "no");
    broker.deadLetters("keep").replay(id);

    assertThat(broker.nack(broker.read("keep", 1).get(0), "no again"))
        .as("still one attempt per round")
        .isFalse();
    assertThat(broker.deadLetters("keep").find(id).orElseThrow().priorAttempts()).isOne();
  }
}
