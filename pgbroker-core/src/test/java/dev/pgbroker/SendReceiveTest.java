package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(BrokerExtension.class)
class SendReceiveTest {
  record Order(String id, int cents) {}

  @Test
  void sentMessageIsReceivedWithItsPayloadHeadersAndFirstAttempt(Broker broker) {
    broker.createQueue("orders");
    long id =
        broker.send("orders", new Order("o-1", 1250), SendOptions.none().header("tenant", "acme"));

    List<Delivery> got = broker.read("orders", 10);

    assertThat(got).hasSize(1);
    Delivery d = got.get(0);
    assertThat(d.id()).isEqualTo(id);
    assertThat(d.attempt()).isEqualTo(1);
    assertThat(d.payload(Order.class)).isEqualTo(new Order("o-1", 1250));
    assertThat(d.headers()).isEqualTo(Map.of("tenant", "acme"));
    assertThat(d.enqueuedAt()).isNotNull();
    assertThat(broker.read("orders", 10)).as("leased, so not delivered twice").isEmpty();
    broker.ack(d);
    assertThat(broker.stats("orders").acked()).isEqualTo(1);
  }

  @Test
  void rawJsonTextAndBytesAreSentAsIs(Broker broker) {
    broker.createQueue("raw");
    broker.send("raw", Json.of("{\"a\": [1, 2]}"));
    broker.send("raw", Json.of("[true]".getBytes(StandardCharsets.UTF_8)));
    broker.send("raw", "just a string");

    List<String> payloads = broker.read("raw", 10).stream().map(Delivery::payloadJson).toList();

    assertThat(payloads).containsExactly("{\"a\": [1, 2]}", "[true]", "\"just a string\"");
  }

  @Test
  void batchSendReturnsIdsInOrderAndKeepsSendOrder(Broker broker) {
    broker.createQueue("batch");
    List<Long> ids = broker.sendBatch("batch", List.of(1, 2, 3, 4, 5));

    assertThat(ids).hasSize(5).isSorted();
    List<Delivery> got = broker.read("batch", 100);
    assertThat(got).extracting(Delivery::id).containsExactlyElementsOf(ids);
    assertThat(got).extracting(d -> d.payload(Integer.class)).containsExactly(1, 2, 3, 4, 5);
    assertThat(broker.ackAll(got)).isEmpty();
    assertThat(broker.stats("batch").ready()).isZero();
  }

  @Test
  void higherPriorityIsDeliveredFirst(Broker broker) {
    broker.createQueue("prio");
    broker.send("prio", "low");
    broker.send("prio", "high", SendOptions.none().priority(10));

    assertThat(broker.read("prio", 1).get(0).payload(String.class)).isEqualTo("high");
  }

  @Test
  void delayedMessageIsNotDeliveredBeforeItIsDue(Broker broker, TestSchema schema)
      throws Exception {
    broker.createQueue("later");
    long start = System.nanoTime();
    Instant sentAt = schema.now(); // before the send, so the wait measured is never too short
    broker.send("later", "soon", SendOptions.none().delay(Duration.ofMillis(700)));

    assertThat(broker.read("later", 10)).isEmpty();
    assertThat(broker.stats("later").delayed()).isEqualTo(1);
    List<Delivery> got;
    do {
      Thread.sleep(20);
      got = broker.read("later", 10);
    } while (got.isEmpty() && System.nanoTime() - start < 5_000_000_000L);
    assertThat(got).hasSize(1);
    assertThat(Duration.between(sentAt, schema.now()))
        .isGreaterThanOrEqualTo(Duration.ofMillis(700));
  }

  @Test
  void sendOnCallersConnectionExistsOnlyIfTheTransactionCommits(
      Broker broker, DataSource ds, TestSchema schema) throws Exception {
    broker.createQueue("tx");
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      broker.send(c, "tx", "rolled back", SendOptions.none());
      broker.sendBatch(c, "tx", List.of("also", "rolled back"), SendOptions.none());
      assertThat(broker.read("tx", 10)).as("invisible before commit").isEmpty();
      c.rollback();
      broker.send(c, "tx", "committed", SendOptions.none());
      c.commit();
    }

    List<Delivery> got = broker.read("tx", 10);
    assertThat(got).extracting(d -> d.payload(String.class)).containsExactly("committed");
    assertThat(schema.count("select count(*) from %s.message")).isEqualTo(1);
  }

  @Test
  void ackOnCallersConnectionCommitsOrRollsBackWithTheHandlersWrites(
      Broker broker, DataSource ds, TestSchema schema) throws Exception {
    broker.createQueue("effects");
    schema.execute("create table %s.effect (order_id text)");
    broker.send("effects", new Order("o-7", 1));
    Delivery d = broker.read("effects", 1).get(0);

    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      write(c, schema, d);
      broker.ack(c, d);
      c.rollback();
    }
    assertThat(schema.count("select count(*) from %s.effect")).isZero();
    assertThat(schema.count("select count(*) from %s.message")).as("still leased").isEqualTo(1);

    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      write(c, schema, d);
      broker.ack(c, d);
      c.commit();
    }
    assertThat(schema.count("select count(*) from %s.effect")).isEqualTo(1);
    assertThat(schema.count("select count(*) from %s.message")).isZero();
  }

  @Test
  void retentionKeepsAckedMessagesInTheArchive(Broker broker, TestSchema schema) {
    broker.createQueue("kept", QueueOptions.defaults().retention(Duration.ofDays(1)));
    broker.send("kept", "x");
    broker.ack(broker.read("kept", 1).get(0));

    assertThat(schema.count("select count(*) from %s.message")).isZero();
    assertThat(schema.count("select count(*) from %s.archive where queue = 'kept'")).isEqualTo(1);
  }

  private static void write(Connection c, TestSchema schema, Delivery d) throws Exception {
    try (PreparedStatement ps =
        c.prepareStatement("insert into " + schema.name() + ".effect values (?)")) {
      ps.setString(1, d.payload(Order.class).id());
      ps.execute();
    }
  }
}
