package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(BrokerExtension.class)
class MaintenanceTest {

  @Test
  void maintenanceVacuumsTheMessageTableOnceItHoldsManyDeadRows(Broker broker, TestSchema s) {
    broker.createQueue("churn");
    int n = (int) HotTableVacuum.DEAD_ROWS + 10_000;
    for (int i = 0; i < n; i += 1000) {
      broker.sendBatch("churn", IntStream.range(0, 1000).boxed().toList());
    }
    for (List<Delivery> got; !(got = broker.read("churn", 1000)).isEmpty(); ) {
      broker.ackAll(got);
    }
    String vacuumed =
        "select count(*) from pg_stat_all_tables where relid = '%s.message'::regclass"
            + " and (last_vacuum is not null or last_autovacuum is not null)";
    assertThat(s.count(vacuumed)).isZero();

    // The server's statistics of dead rows arrive within about a second of the deletes.
    await()
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(500))
        .until(
            () -> {
              broker.maintain();
              return s.count(vacuumed) == 1;
            });
  }

  @Test
  void maintenancePrunesExpiredArchiveRowsAndDedupKeys(Broker broker, TestSchema s)
      throws Exception {
    broker.createQueue(
        "kept",
        QueueOptions.defaults()
            .retention(Duration.ofMillis(100))
            .dedupWindow(Duration.ofMillis(100)));
    broker.send("kept", "x", SendOptions.none().dedupKey("k"));
    broker.ack(broker.read("kept", 1).get(0));
    assertThat(s.count("select count(*) from %s.archive")).isEqualTo(1);
    assertThat(s.count("select count(*) from %s.dedup")).isEqualTo(1);
    Thread.sleep(200);

    broker.maintain();

    assertThat(s.count("select count(*) from %s.archive")).isZero();
    assertThat(s.count("select count(*) from %s.dedup")).isZero();
  }
}
