package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Topics: fan-out counted per subscription, filters, run-time subscribe, transactions, SQL. */
@ExtendWith(BrokerExtension.class)
class TopicsTest {
  private static final List<String> SUBSCRIPTIONS = List.of("billing", "mail", "audit");

  @Test
  void everySubscriptionSeesEveryEventExactlyOnceWithTwoConsumersEach(Broker broker, TestSchema s)
      throws Exception {
    int events = 10_000;
    for (String sub : SUBSCRIPTIONS) {
      broker.topics().subscribe("signups", sub);
    }
    s.execute(
        "create table %s.seen (subscription text not null, event int not null, consumer int not null)");
    List<Worker> workers = new ArrayList<>();
    for (String sub : SUBSCRIPTIONS) {
      for (int consumer = 0; consumer < 2; consumer++) {
        int me = consumer;
        workers.add(
            broker
                .worker()
                .handleInTransaction(
                    sub,
                    (tx, d) -> {
                      try (PreparedStatement ps =
                          tx.prepareStatement(
                              "insert into " + s.name() + ".seen values (?, ?, ?)")) {
                        ps.setString(1, d.queue());
                        ps.setInt(2, d.payload(Map.class).get("n") instanceof Integer n ? n : -1);
                        ps.setInt(3, me);
                        ps.execute();
                      }
                    })
                .start());
      }
    }
    try {
      for (int from = 0; from < events; from += 500) {
        List<Map<String, Integer>> batch = new ArrayList<>();
        for (int n = from; n < from + 500; n++) {
          batch.add(Map.of("n", n));
        }
        assertThat(broker.publishBatch("signups", batch, SendOptions.none())).isEqualTo(1_500);
      }
      Awaitility.await()
          .atMost(Duration.ofMinutes(3))
          .until(() -> s.count("select count(*) from %s.seen") >= 3L * events);
    } finally {
      workers.forEach(Worker::close);
    }

    assertThat(s.count("select count(*) from %s.seen")).isEqualTo(3L * events);
    assertThat(
            s.count(
                "select count(*) from (select subscription, event from %s.seen"
                    + " group by 1, 2 having count(*) > 1) d"))
        .as("events processed twice in one subscription")
        .isZero();
    assertThat(
            s.count(
                "select count(*) from (select subscription from %s.seen where event between 0 and"
                    + " 9999 group by 1 having count(distinct event) = 10000) full_sets"))
        .as("subscriptions that saw all 10,000 events")
        .isEqualTo(3);
    assertThat(s.count("select count(distinct (subscription, consumer)) from %s.seen"))
        .as("both consumers of each subscription took part")
        .isEqualTo(6);
    assertThat(s.count("select count(*) from %s.message")).isZero();
  }

  @Test
  void filtersPickByTypeAndHeaderValues(Broker broker, TestSchema s) {
    broker.topics().subscribe("orders", "everything");
    broker.topics().subscribe("orders", "money", Filter.type("order.paid", "order.refunded"));
    broker
        .topics()
        .subscribe("orders", "eu-paid", Filter.type("order.paid").header("region", "eu", "uk"));

    assertThat(broker.publish("orders", Map.of("id", 1), paid("eu"))).isEqualTo(3);
    assertThat(broker.publish("orders", Map.of("id", 2), paid("us"))).isEqualTo(2);
    assertThat(broker.publish("orders", Map.of("id", 3), SendOptions.none().type("order.made")))
        .isEqualTo(1);
    assertThat(broker.publish("orders", Map.of("id", 4))).as("no type, no headers").isEqualTo(1);

    assertThat(ids(broker, "everything")).containsExactly(1, 2, 3, 4);
    assertThat(ids(broker, "money")).containsExactly(1, 2);
    assertThat(ids(broker, "eu-paid")).containsExactly(1);
    assertThat(broker.topics().subscriptions("orders"))
        .extracting(Subscription::queue, Subscription::filter)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(
                "eu-paid", Filter.type("order.paid").header("region", "eu", "uk")),
            org.assertj.core.groups.Tuple.tuple("everything", Filter.all()),
            org.assertj.core.groups.Tuple.tuple(
                "money", Filter.type("order.paid", "order.refunded")));
  }

  @Test
  void subscribersGetWhatIsPublishedAfterTheySubscribeAndUnsubscribingDropsPendingCopies(
      Broker broker, TestSchema s) {
    broker.topics().create("news");
    assertThat(broker.publish("news", Map.of("id", 1))).as("no subscribers yet").isZero();
    broker.topics().subscribe("news", "early");
    broker.publish("news", Map.of("id", 2));
    broker.topics().subscribe("news", "late", Filter.all(), QueueOptions.defaults().maxAttempts(2));
    broker.publish("news", Map.of("id", 3));

    assertThat(ids(broker, "early")).containsExactly(2, 3);
    assertThat(ids(broker, "late")).containsExactly(3);
    assertThat(broker.queueOptions("late").maxAttempts()).isEqualTo(2);
    assertThat(broker.topics().names()).containsExactly("news");

    assertThat(broker.topics().unsubscribe("news", "early")).isTrue();
    assertThat(broker.topics().unsubscribe("news", "early")).isFalse();
    assertThat(broker.queues()).doesNotContain("early");
    assertThat(s.count("select count(*) from %s.message where queue = 'early'")).isZero();
    assertThat(broker.publish("news", Map.of("id", 4))).isEqualTo(1);
    assertThat(broker.topics().subscriptions())
        .extracting(Subscription::topic, Subscription::queue)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("news", "late"));

    assertThat(broker.topics().delete("news")).isTrue();
    assertThat(broker.queues()).doesNotContain("late");
    assertThat(broker.topics().names()).isEmpty();
  }

  @Test
  void aPublishInARolledBackTransactionLeavesNoCopyAnywhere(Broker broker, DataSource ds)
      throws Exception {
    broker.topics().subscribe("t", "a");
    broker.topics().subscribe("t", "b");
    try (Connection tx = ds.getConnection()) {
      tx.setAutoCommit(false);
      assertThat(broker.publish(tx, "t", Map.of("id", 1), SendOptions.none())).isEqualTo(2);
      tx.rollback();
      assertThat(broker.publishBatch(tx, "t", List.of(2, 3), SendOptions.none())).isEqualTo(4);
      tx.commit();
    }
    assertThat(broker.stats("a").ready() + broker.stats("b").ready()).isEqualTo(4);
    assertThat(broker.read("a", 10)).extracting(Delivery::payloadJson).containsExactly("2", "3");
  }

  @Test
  void badInputIsRefusedAndChangesNothing(Broker broker, TestSchema s) {
    broker.topics().subscribe("t", "sub");
    broker.createQueue("plain");

    assertThatThrownBy(() -> broker.publish("missing", 1))
        .isInstanceOf(UnknownTopicException.class)
        .hasMessageContaining("unknown topic 'missing'");
    assertThatThrownBy(() -> broker.publish("T!", 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("invalid topic name");
    assertThatThrownBy(() -> broker.topics().subscribe("other", "sub"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("already subscribes to topic 't'");
    assertThatThrownBy(() -> Filter.type())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("needs 1 to 100 accepted values");
    assertThatThrownBy(
            () -> broker.publishBatch("t", List.of(1, 2), SendOptions.none().dedupKey("k")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("dedup key");
    assertThatThrownBy(() -> broker.topics().subscriptions("missing"))
        .isInstanceOf(UnknownTopicException.class);

    assertThat(s.count("select count(*) from %s.message")).isZero();
    assertThat(broker.topics().names()).containsExactly("t");
    assertThat(broker.topics().subscriptions()).hasSize(1);
  }

  @Test
  void theSqlFacePublishesToEverySubscriptionAndRefusesBadFilters(TestSchema s, DataSource ds)
      throws Exception {
    try (Connection c = ds.getConnection()) {
      String x = s.name();
      exec(c, "select " + x + ".subscribe('orders', 'all-orders')");
      exec(
          c,
          "select "
              + x
              + ".subscribe('orders', 'paid', '{\"filter\": {\"type\": [\"order.paid\"]},"
              + " \"max_attempts\": 3}')");
      assertThat(
              number(
                  c,
                  "select "
                      + x
                      + ".publish('orders', '{\"id\": 1}', '{\"type\": \"order.paid\"}')"))
          .isEqualTo(2);
      assertThat(
              number(
                  c,
                  "select "
                      + x
                      + ".publish_batch('orders', array['1', '2']::jsonb[],"
                      + " '{\"type\": \"order.made\"}')"))
          .isEqualTo(2);
      assertThat(number(c, "select max_attempts from " + x + ".queue where name = 'paid'"))
          .isEqualTo(3);
      assertThatThrownBy(
              () ->
                  exec(
                      c,
                      "select "
                          + x
                          + ".subscribe('orders', 'paid', '{\"filter\": {\"type\": [{\"a\": 1}]}}')"))
          .hasMessageContaining("filter values of header 'type' must be 1 to 100 strings");
      assertThatThrownBy(() -> exec(c, "select " + x + ".publish('nope', '{}')"))
          .hasMessageContaining("unknown topic 'nope'");
      assertThatThrownBy(() -> exec(c, "select " + x + ".publish('orders', '{}', '{\"type\": 5}')"))
          .hasMessageContaining("type must be a non-empty string");
      assertThat(number(c, "select " + x + ".unsubscribe('orders', 'paid')::int")).isEqualTo(1);
    }
    assertThat(s.count("select count(*) from %s.message")).isEqualTo(3);
  }

  private static SendOptions paid(String region) {
    return SendOptions.none().type("order.paid").header("region", region);
  }

  private static List<Integer> ids(Broker broker, String queue) {
    return broker.messages(queue).list(100).stream()
        .map(m -> Json.of(m.payloadJson()).text().replaceAll("\\D", ""))
        .map(Integer::valueOf)
        .toList();
  }

  private static void exec(Connection c, String sql) throws Exception {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.execute();
    }
  }

  private static long number(Connection c, String sql) throws Exception {
    try (PreparedStatement ps = c.prepareStatement(sql);
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
