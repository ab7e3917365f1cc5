package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestDatabase;
import dev.pgbroker.testing.TestSchema;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The health view warns about each problem it knows, with the subject named, and only then. */
@ExtendWith(BrokerExtension.class)
class HealthTest {
  private static final Health.Thresholds QUIET =
      new Health.Thresholds(Duration.ofDays(1), Long.MAX_VALUE / 10_000, Duration.ofDays(1));

  @Test
  void aFreshSchemaIsHealthy(Broker broker) {
    broker.createQueue("jobs");
    broker.send("jobs", 1);
    assertThat(broker.health(QUIET.withXminAge(Duration.ofDays(1))).warnings()).isEmpty();
  }

  @Test
  void warnsAboutAQueueWhoseOldestReadyMessageWaitedTooLong(Broker broker, TestSchema s)
      throws Exception {
    broker.createQueue("stale");
    broker.createQueue("fresh");
    broker.createQueue("delayed");
    broker.send("stale", 1, SendOptions.none().priority(5));
    broker.send("stale", 2, SendOptions.none().priority(-3));
    broker.send("delayed", 3, SendOptions.none().delay(Duration.ofHours(1)));
    s.execute(
        "update %s.message set visible_at = visible_at - interval '10 minutes'"
            + " where queue = 'stale' and priority = -3");
    broker.send("fresh", 4);

    List<Health.Warning> w = broker.health(QUIET.withOldestReady(Duration.ofMinutes(5))).warnings();

    assertThat(w).extracting(Health.Warning::check).containsExactly("oldest_ready");
    Health.Warning stale = w.get(0);
    assertThat(stale.subject()).isEqualTo("stale");
    assertThat(stale.value()).isBetween(600_000L, 660_000L);
    assertThat(stale.threshold()).isEqualTo(300_000L);
    assertThat(stale.message()).contains("queue stale", "oldest ready message");
    assertThat(s.count("select count(*) from %s.health('{\"oldest_ready_ms\": 300000}')"))
        .isEqualTo(1);
  }

  @Test
  void warnsAboutDeadTuplesOfTheSchemasTables(Broker broker, TestSchema s) {
    broker.createQueue("churn");
    broker.sendBatch("churn", IntStream.range(0, 2000).boxed().toList());
    for (List<Delivery> got; !(got = broker.read("churn", 1000)).isEmpty(); ) {
      broker.ackAll(got);
    }
    // The statistics collector reports the deletes within about a second.
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> !broker.health(QUIET.withDeadTuples(1000)).ok());
    Health.Warning w = broker.health(QUIET.withDeadTuples(1000)).warnings().get(0);
    assertThat(w.check()).isEqualTo("dead_tuples");
    assertThat(w.subject()).isEqualTo(s.name() + ".message");
    assertThat(w.value()).isGreaterThan(1000);
    assertThat(w.message()).contains("dead rows", "threshold 1000");
  }

  @Test
  void namesTheSessionHoldingBackTheXminHorizonWithItsPidAndAge(Broker broker) throws Exception {
    broker.createQueue("jobs");
    try (Connection holder = TestDatabase.dataSource().getConnection()) {
      holder.setAutoCommit(false);
      holder.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      int pid;
      try (Statement st = holder.createStatement();
          ResultSet rs = st.executeQuery("select pg_backend_pid()")) {
        rs.next();
        pid = rs.getInt(1);
      }
      Thread.sleep(300);
      Health h = broker.health(QUIET.withXminAge(Duration.ofMillis(200)));
      assertThat(h.warnings())
          .filteredOn(w -> w.subject().equals("pid " + pid))
          .singleElement()
          .satisfies(
              w -> {
                assertThat(w.check()).isEqualTo("xmin_horizon");
                assertThat(w.value()).isGreaterThanOrEqualTo(300);
                assertThat(w.threshold()).isEqualTo(200);
                assertThat(w.message()).contains("pid " + pid, "pg_terminate_backend(" + pid);
              });
      holder.rollback();
    }
    assertThat(broker.health(QUIET.withXminAge(Duration.ofDays(1))).ok()).isTrue();
  }

  @Test
  void badThresholdsAreRefusedOnBothFaces(Broker broker, TestSchema s) {
    assertThatThrownBy(() -> Health.Thresholds.DEFAULT.withOldestReady(Duration.ofSeconds(-1)))
        .hasMessage("oldestReady must be >= 0, was PT-1S");
    assertThatThrownBy(() -> Health.Thresholds.DEFAULT.withDeadTuples(-1))
        .hasMessageContaining("deadTuples must be from 0");
    assertThatThrownBy(() -> s.execute("select * from %s.health('{\"xmin_age\": 1}')"))
        .hasStackTraceContaining("unknown health option key 'xmin_age'; allowed: oldest_ready_ms");
    assertThatThrownBy(() -> s.execute("select * from %s.health('{\"dead_tuples\": -1}')"))
        .hasStackTraceContaining("dead_tuples must be a whole number from 0");
    assertThatThrownBy(() -> s.execute("select * from %s.health('[]')"))
        .hasStackTraceContaining("health option must be a JSON object");
  }
}
