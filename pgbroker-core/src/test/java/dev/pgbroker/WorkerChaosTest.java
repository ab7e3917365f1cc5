package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestDatabase;
import dev.pgbroker.testing.TestSchema;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Kills and connection loss in the middle of a run; count that nothing is lost or doubled. */
@Tag("chaos")
@ExtendWith(BrokerExtension.class)
class WorkerChaosTest {

  @Test
  void threeWorkerProcessesOneKilledHalfwayProcessEachMessageExactlyOnce(
      Broker broker, TestSchema s) throws Exception {
    int n = 50_000;
    broker.createQueue(
        "payments", QueueOptions.defaults().visibilityTimeout(Duration.ofSeconds(2)));
    s.execute(
        "create table %s.processed (id bigint not null, consumer text not null, attempt int not null)");
    for (int i = 0; i < n; i += 5000) {
      broker.sendBatch("payments", IntStream.range(i, i + 5000).boxed().toList());
    }
    List<Process> workers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      workers.add(
          CompetingConsumersTest.javaProcess(
              WorkerProcess.class, TestDatabase.jdbcUrl(), s.name(), "payments", "instance-" + i));
    }
    try {
      await()
          .atMost(Duration.ofMinutes(3))
          .pollInterval(Duration.ofMillis(50))
          .until(() -> s.count("select count(*) from %s.processed") >= n / 2);
      workers.get(0).destroyForcibly(); // SIGKILL: no drain, no acks, leases left behind
      assertThat(workers.get(0).waitFor(30, TimeUnit.SECONDS)).isTrue();

      await()
          .atMost(Duration.ofMinutes(5))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> s.count("select count(*) from %s.message") == 0);
    } finally {
      for (Process p : workers) {
        p.destroy(); // SIGTERM: the shutdown hook drains
      }
      for (Process p : workers) {
        p.waitFor(60, TimeUnit.SECONDS);
      }
    }

    assertThat(s.count("select count(*) from %s.processed")).as("rows written").isEqualTo(n);
    assertThat(s.count("select count(distinct id) from %s.processed"))
        .as("distinct messages")
        .isEqualTo(n);
    assertThat(s.count("select count(distinct consumer) from %s.processed")).isEqualTo(3);
    assertThat(s.count("select count(*) from %s.processed where attempt > 1"))
        .as("the killed instance's in-flight messages were redelivered to the others")
        .isPositive();
  }

  @Test
  void workerSurvivesEveryOneOfItsConnectionsBeingTerminated(TestSchema s) throws Exception {
    int n = 5_000;
    String url =
        TestDatabase.jdbcUrl()
            + (TestDatabase.jdbcUrl().contains("?") ? "&" : "?")
            + "ApplicationName=pgbroker-chaos-"
            + s.name();
    try (HikariDataSource ds = TestDatabase.pool(url, 12)) {
      Broker broker = Broker.create(ds).schema(s.name()).build();
      broker.createQueue("jobs", QueueOptions.defaults().visibilityTimeout(Duration.ofSeconds(2)));
      s.execute(
          "create table %s.processed (id bigint not null, consumer text not null, attempt int not null)");
      broker.sendBatch("jobs", IntStream.range(0, n).boxed().toList());
      try (Worker w =
          broker
              .worker()
              .handleInTransaction(
                  "jobs",
                  (tx, d) -> {
                    try (PreparedStatement ps =
                        tx.prepareStatement(
                            "insert into " + s.name() + ".processed values (?, 'w', ?)")) {
                      ps.setLong(1, d.id());
                      ps.setInt(2, d.attempt());
                      ps.execute();
                    }
                    Thread.sleep(1);
                  })
              .start()) {
        for (int kill = 1; kill <= 3; kill++) {
          int threshold = kill * n / 4;
          await()
              .atMost(Duration.ofMinutes(2))
              .until(() -> s.count("select count(*) from %s.processed") >= threshold);
          long killed =
              s.count(
                  "select count(pg_terminate_backend(pid)) from pg_stat_activity"
                      + " where application_name = 'pgbroker-chaos-%s'");
          assertThat(killed).as("backends terminated at round %s", kill).isPositive();
        }
        await()
            .atMost(Duration.ofMinutes(3))
            .until(() -> s.count("select count(*) from %s.message") == 0);
      }
    }
    assertThat(s.count("select count(*) from %s.processed")).isEqualTo(n);
    assertThat(s.count("select count(distinct id) from %s.processed")).isEqualTo(n);
  }
}
