package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestDatabase;
import dev.pgbroker.testing.TestSchema;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Every bad input is refused with a message naming the problem, and nothing is written. */
@ExtendWith(BrokerExtension.class)
class BadInputTest {
  private Broker broker;
  private TestSchema schema;

  @BeforeEach
  void queueWithOneMessage(Broker broker, TestSchema schema) {
    this.broker = broker;
    this.schema = schema;
    broker.createQueue("jobs", QueueOptions.defaults().maxPayloadBytes(100));
    broker.send("jobs", "existing");
  }

  @Test
  void invalidQueueNames() {
    for (String name :
        Arrays.asList(
            null, "", "Upper", "has space", "-leading", "x".repeat(64), "q'; drop table x; --")) {
      assertThatThrownBy(() -> broker.send(name, 1))
          .as("name %s", name)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("invalid queue name");
      assertThatThrownBy(() -> broker.createQueue(name))
          .isInstanceOf(IllegalArgumentException.class);
    }
    assertThatThrownBy(() -> Broker.create(TestDatabase.dataSource()).schema("pg broker"))
        .hasMessageContaining("schema must match");
    assertUnchanged();
  }

  @Test
  void unknownQueue() {
    assertThatThrownBy(() -> broker.send("nope", 1))
        .isInstanceOf(UnknownQueueException.class)
        .hasMessageContaining("unknown queue 'nope'");
    assertThatThrownBy(() -> broker.read("nope", 1)).isInstanceOf(UnknownQueueException.class);
    assertThatThrownBy(() -> broker.stats("nope")).isInstanceOf(UnknownQueueException.class);
    assertThatThrownBy(() -> broker.deadLetters("nope").list(1))
        .isInstanceOf(UnknownQueueException.class);
    assertThatThrownBy(() -> broker.queueOptions("nope")).isInstanceOf(UnknownQueueException.class);
    assertUnchanged();
  }

  @Test
  void payloadOverTheLimitInABatchStoresNoneOfIt() {
    assertThatThrownBy(() -> broker.sendBatch("jobs", List.of("small", "x".repeat(200))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("202 bytes")
        .hasMessageContaining("limit of 100 bytes")
        .hasMessageContaining("message 2");
    assertUnchanged();
  }

  @Test
  void malformedJson() {
    assertThatThrownBy(() -> Json.of("{not json"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not valid JSON");
    assertThatThrownBy(() -> Json.of("")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> schema.execute("select %s.send('jobs', '{broken')"))
        .hasStackTraceContaining("invalid input syntax for type json");
    assertUnchanged();
  }

  @Test
  void negativeDelaysAndBadSizes() {
    assertThatThrownBy(() -> SendOptions.none().delay(Duration.ofMillis(-1)))
        .hasMessage("delay must be >= 0, was PT-0.001S");
    assertThatThrownBy(() -> broker.read("jobs", 0)).hasMessageContaining("max must be between 1");
    assertThatThrownBy(() -> broker.read("jobs", -5)).hasMessageContaining("was -5");
    assertThatThrownBy(() -> broker.read("jobs", 1, Duration.ZERO))
        .hasMessageContaining("visibilityTimeout must be at least 1 ms");
    assertThatThrownBy(() -> broker.sendBatch("jobs", List.of()))
        .hasMessageContaining("at least one payload");
    assertThatThrownBy(() -> broker.send("jobs", null)).hasMessageContaining("payload 0 is null");
    assertThatThrownBy(() -> SendOptions.none().priority(2_000_000))
        .hasMessageContaining("priority must be");
    assertThatThrownBy(() -> schema.execute("select %s.send('jobs', '1', '{\"delay_ms\": -10}')"))
        .hasStackTraceContaining(
            "delay_ms must be a whole number from 0 to 1000000000000000, was -10");
    assertThatThrownBy(() -> schema.execute("select %s.send('jobs', '1', '{\"delay_ms\": 1e300}')"))
        .hasStackTraceContaining("delay_ms must be a whole number from 0 to 1000000000000000");
    assertThatThrownBy(() -> schema.execute("select * from %s.read('jobs', 0, 1000)"))
        .hasStackTraceContaining("max_messages must be between 1 and 10000, was 0");
    assertUnchanged();
  }

  @Test
  void badQueueSettings() {
    assertThatThrownBy(() -> QueueOptions.defaults().visibilityTimeout(Duration.ZERO))
        .hasMessage("visibilityTimeout must be at least 1 ms, was PT0S");
    assertThatThrownBy(() -> QueueOptions.defaults().maxAttempts(0))
        .hasMessage("maxAttempts must be >= 1, was 0");
    assertThatThrownBy(() -> QueueOptions.defaults().backoffSchedule(new Duration[0]))
        .hasMessageContaining("at least one delay");
    assertThatThrownBy(
            () ->
                QueueOptions.defaults()
                    .exponentialBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .hasMessageContaining("backoff max must be >= backoff base");
    assertThatThrownBy(
            () -> schema.execute("select %s.create_queue('jobs', '{\"max_attempts\": 0}')"))
        .hasStackTraceContaining("must be > 0, was 0");
    assertThatThrownBy(
            () ->
                schema.execute("select %s.create_queue('jobs', '{\"max_attempts\": 3000000000}')"))
        .hasStackTraceContaining("max_attempts must be a whole number from 0 to 2147483647");
    assertThatThrownBy(
            () -> schema.execute("select %s.create_queue('jobs', '{\"backoff_max_ms\": 10}')"))
        .hasStackTraceContaining("backoff_max_ms must be >= backoff_base_ms (1000), was 10");
    assertThatThrownBy(
            () -> schema.execute("select %s.create_queue('jobs', '{\"colour\": \"red\"}')"))
        .hasStackTraceContaining("unknown queue option key 'colour'");
    assertThat(broker.queueOptions("jobs").maxAttempts())
        .isEqualTo(QueueOptions.DEFAULT_MAX_ATTEMPTS);
    assertUnchanged();
  }

  @Test
  void keysOverTheLimitAreRefusedOnBothFaces() {
    String tooLong = "k".repeat(Checks.MAX_KEY_CHARS + 1);
    assertThatThrownBy(() -> SendOptions.none().orderingKey(tooLong))
        .hasMessage("orderingKey must be 1 to 512 characters, was 513 characters");
    assertThatThrownBy(() -> SendOptions.none().dedupKey(""))
        .hasMessage("dedupKey must be 1 to 512 characters, was 0 characters");
    assertThatThrownBy(
            () ->
                schema.execute(
                    "select %s.send('jobs', '1', '{\"ordering_key\": \"" + tooLong + "\"}')"))
        .hasStackTraceContaining("ordering_key must be 1 to 512 characters, was 513 characters");
    assertThatThrownBy(() -> schema.execute("select %s.send('jobs', '1', '{\"dedup_key\": \"\"}')"))
        .hasStackTraceContaining("dedup_key must be 1 to 512 characters, was 0 characters");
    assertThat(broker.send("jobs", 1, SendOptions.none().orderingKey("k".repeat(512))))
        .isPositive();
  }

  @Test
  void errorTextsKeepTheSameLengthOnBothFaces() {
    broker.send("jobs", "second");
    List<Delivery> two = broker.read("jobs", 2);
    broker.nack(two.get(0), "j".repeat(5000));
    schema.execute(
        "select %s.nack('jobs', "
            + two.get(1).id()
            + ", '"
            + two.get(1).lease()
            + "', '"
            + "s".repeat(5000)
            + "', 0)");
    assertThat(
            schema.count(
                "select max(length(e ->> 'error')) from %s.message, jsonb_array_elements(errors) e"))
        .isEqualTo(Checks.MAX_ERROR_CHARS);
  }

  @Test
  void readOutsideReadCommittedIsRefused(DataSource ds) throws Exception {
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      try (Statement st = c.createStatement()) {
        assertThatThrownBy(
                () -> st.executeQuery("select * from " + schema.name() + ".read('jobs', 1)"))
            .hasMessageContaining(
                "read needs the read committed isolation level, was repeatable read");
      }
      c.rollback();
    }
    assertUnchanged();
  }

  @Test
  void staleLeaseChangesNothing() {
    Delivery d = broker.read("jobs", 1).get(0);
    broker.ack(d);
    broker.send("jobs", "second");

    assertThatThrownBy(() -> broker.nack(d, "late")).isInstanceOf(StaleLeaseException.class);
    assertThat(broker.stats("jobs").failed()).isZero();
    assertThat(broker.read("jobs", 10)).hasSize(1);
  }

  private void assertUnchanged() {
    assertThat(schema.count("select count(*) from %s.message")).isEqualTo(1);
    assertThat(schema.count("select count(*) from %s.queue")).isEqualTo(1);
    assertThat(broker.read("jobs", 10))
        .extracting(d -> d.payload(String.class))
        .containsExactly("existing");
  }
}
