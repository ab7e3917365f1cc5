package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/** The SQL API without traps, and database time read at the statement. */
@ExtendWith(BrokerExtension.class)
class SqlFaceTest {

  @Test
  void leaseFromReadGoesStraightIntoAckNackAndExtend(Broker broker, TestSchema s) {
    broker.createQueue("typed", QueueOptions.defaults().backoffSchedule(Duration.ofMinutes(10)));
    broker.sendBatch("typed", List.of(1, 2, 3));
    String q = "select %1$s.%2$s from %1$s.read('typed', 1) r";
    assertThat(s.count(q.formatted(s.name(), "extend('typed', r.id, r.lease, 60000)::int")))
        .isOne();
    assertThat(s.count(q.formatted(s.name(), "ack('typed', r.id, r.lease)::int"))).isOne();
    assertThat(s.count(q.formatted(s.name(), "nack('typed', r.id, r.lease, error => 'no')::int")))
        .isOne();
    assertThat(
            s.count("select count(*) from %s.message where visible_at > now() + interval '5 min'"))
        .as("nack without a delay retries after the queue's backoff (10 min), not at once")
        .isOne();
    assertThat(broker.read("typed", 10)).as("1 extended, 2 acked, 3 waiting").isEmpty();
    assertThat(broker.stats("typed").acked()).isOne();
  }

  @Test
  void sqlSendOptionsAreCheckedAsStrictlyAsJava(Broker broker, TestSchema s) {
    broker.createQueue("strict");
    for (String[] bad :
        new String[][] {
          {"{\"dedup_key\": 5}", "dedup_key must be a string, was 5"},
          {"{\"ordering_key\": {\"a\": 1}}", "ordering_key must be a string"},
          {"{\"ordering_key\": \"\"}", "ordering_key must be 1 to 512 characters, was 0"},
          {"{\"priority\": 1.5}", "priority must be a whole number"},
          {
            "{\"delay_ms\": 2.5}",
            "delay_ms must be a whole number from 0 to 1000000000000000, was 2.5"
          },
          {"{\"deliver_at\": \"soon\"}", "deliver_at must be a timestamp with time zone"},
          {"{\"deliver_at\": 5}", "deliver_at must be a timestamp with time zone"},
          {
            "{\"delay_ms\": 5, \"deliver_at\": \"2030-01-01T00:00:00Z\"}",
            "give a delay or a delivery time, not both"
          },
        }) {
      assertThatThrownBy(() -> s.execute("select %s.send('strict', '1', '" + bad[0] + "')"))
          .as(bad[0])
          .hasStackTraceContaining(bad[1]);
    }
    assertThatThrownBy(
            () -> s.execute("select %s.create_queue('strict', '{\"backoff_ms\": [1e30]}')"))
        .hasStackTraceContaining("backoff_ms must be a non-empty array of whole numbers from 0");
    assertThat(s.count("select count(*) from %s.message")).isZero();
  }

  @Test
  void javaRefusesHugeDurationsAndNulCharactersWithIllegalArgument(Broker broker) {
    broker.createQueue("java");
    assertThatThrownBy(() -> SendOptions.none().delay(Duration.ofDays(365L * 400_000)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("delay must be at most 1000000000000000 ms");
    assertThatThrownBy(() -> SendOptions.none().delay(Duration.ofSeconds(Long.MAX_VALUE)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> broker.send("java", "nul \u0000 inside"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("send to java");
    assertThat(broker.stats("java").sent()).isZero();
  }

  @Test
  void deliverAtIsAnAbsoluteTimeOnTheDatabaseClock(Broker broker, TestSchema s) {
    broker.createQueue("at");
    Instant dbNow =
        Instant.ofEpochMilli(s.count("select (extract(epoch from now()) * 1000)::bigint"));
    broker.send("at", "later", SendOptions.none().deliverAt(dbNow.plus(Duration.ofHours(1))));
    broker.send("at", "past", SendOptions.none().deliverAt(Instant.EPOCH));
    s.execute(
        "select %s.send('at', '\"sql later\"', '{\"deliver_at\": \"2999-01-01T08:00:00Z\"}')");
    assertThat(broker.read("at", 10))
        .extracting(d -> d.payload(String.class))
        .containsExactly("past");
    assertThat(
            s.count(
                "select count(*) from %s.message where visible_at = '2999-01-01T08:00:00Z'"
                    + " or visible_at between now() + interval '59 min' and now() + interval '61 min'"))
        .isEqualTo(2);
  }

  @Test
  void delayAndLeaseCountFromTheStatementNotTheTransactionStart(
      Broker broker, DataSource ds, TestSchema s) throws Exception {
    broker.createQueue("clock");
    broker.send("clock", "waiting");
    try (Connection tx = ds.getConnection()) {
      tx.setAutoCommit(false);
      execute(tx, "select pg_sleep(1.2)"); // the transaction's now() falls behind
      List<Long> leased = ids(tx, "select id from " + s.name() + ".read('clock', 1, 1000)");
      assertThat(leased).hasSize(1);
      tx.commit();
    }
    assertThat(broker.read("clock", 1))
        .as("a 1 s lease taken 1.2 s into its transaction is still held")
        .isEmpty();

    broker.send("clock", "new");
    try (Connection poller = ds.getConnection()) {
      poller.setAutoCommit(false);
      execute(poller, "select 1"); // the poller's transaction has begun
      broker.send("clock", "committed after the poller began");
      assertThat(ids(poller, "select id from " + s.name() + ".read('clock', 10)")).hasSize(2);
      poller.commit();
    }
  }

  @Test
  void sqlSendWakesAnIdleWorkerUnlessTheQueueOptsOut(Broker broker, DataSource ds, TestSchema s)
      throws Exception {
    broker.createQueue("woken");
    broker.createQueue("quiet", QueueOptions.defaults().notifySqlSends(false));
    CountDownLatch handled = new CountDownLatch(1);
    try (Worker w =
            broker
                .worker()
                .handle("woken", d -> handled.countDown())
                .pollInterval(Duration.ofMinutes(5))
                .start();
        Connection listen = ds.getConnection()) {
      execute(listen, "listen \"" + s.name() + "\"");
      await().pollDelay(Duration.ofMillis(300)).until(() -> true); // the worker goes idle
      s.execute("select %s.send('quiet', '1')");
      s.execute("begin; select %s.send('woken', '1'); select %s.send('woken', '2'); commit");
      assertThat(handled.await(10, TimeUnit.SECONDS))
          .as("woken well before the 5 min poll")
          .isTrue();

      List<String> heard = new ArrayList<>();
      PGConnection pg = listen.unwrap(PGConnection.class);
      while (!heard.contains("woken")) {
        PGNotification[] got = pg.getNotifications(5000);
        assertThat(got).as("a notification for the woken queue").isNotNull();
        for (PGNotification n : got) {
          heard.add(n.getParameter());
        }
      }
      assertThat(heard)
          .as("one per transaction, none for the queue that opted out")
          .containsExactly("woken");
      execute(listen, "unlisten *");
    }
  }

  @Test
  void aDeploymentWithoutJavaKeepsItselfTidyWithScheduledMaintain(TestSchema s) {
    s.execute("select %s.create_queue('sqlonly', '{\"retention_ms\": 1}')");
    for (int round = 0; round < 5; round++) {
      s.execute("select %s.send_batch('sqlonly', array['1', '2', '3']::jsonb[])");
      s.execute(
          "select %1$s.ack('sqlonly', r.id, r.lease) from %1$s.read('sqlonly', 10) r"
              .formatted(s.name()));
    }
    assertThat(s.count("select count(*) from %s.counter")).isGreaterThan(5);
    assertThat(s.count("select count(*) from %s.archive")).isEqualTo(15);

    await() // the last archived rows' 1 ms retention runs out on the database clock
        .atMost(Duration.ofSeconds(5))
        .until(
            () ->
                s.count("select count(*) from %s.archive where expires_at > clock_timestamp()")
                    == 0);
    assertThat(s.count("select %s.maintain()::int")).as("what pg_cron would run").isOne();

    assertThat(s.count("select count(*) from %s.counter")).as("folded").isOne();
    assertThat(s.count("select count(*) from %s.archive")).as("retention of 1 ms ran out").isZero();
    assertThat(s.count("select acked from %s.stats('sqlonly')")).isEqualTo(15);
  }

  private static void execute(Connection c, String sql) throws Exception {
    try (Statement st = c.createStatement()) {
      st.execute(sql);
    }
  }

  private static List<Long> ids(Connection c, String sql) throws Exception {
    List<Long> out = new ArrayList<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getLong(1));
      }
    }
    return out;
  }
}
