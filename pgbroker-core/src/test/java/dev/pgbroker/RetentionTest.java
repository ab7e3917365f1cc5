package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestDatabase;
import dev.pgbroker.testing.TestSchema;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Archive and dead-letter retention by age and by count, pruned in batches: counted. */
@ExtendWith(BrokerExtension.class)
class RetentionTest {

  @Test
  void theArchiveKeepsItsNewestRowsUpToItsCountLimit(Broker broker, TestSchema s) {
    broker.createQueue(
        "kept", QueueOptions.defaults().retention(Duration.ofDays(1)).archiveLimit(100));
    List<Long> acked = sendAndAck(broker, "kept", 1_000);

    broker.maintain();

    assertThat(s.count("select count(*) from %s.archive")).isEqualTo(100);
    assertThat(ids(broker.archive("kept").list(10_000).stream().map(ArchivedMessage::id)))
        .isEqualTo(acked.subList(900, 1_000));
    assertThat(broker.queueOptions("kept").archiveLimit()).isEqualTo(100);
  }

  @Test
  void deadLettersArePrunedByCount(Broker broker, TestSchema s) {
    broker.createQueue("poison", QueueOptions.defaults().deadLetterLimit(300));
    List<Long> dead = deadLetter(s, "poison", 1_000);

    broker.maintain();

    assertThat(s.count("select count(*) from %s.dead_letter")).isEqualTo(300);
    assertThat(ids(broker.deadLetters("poison").list(10_000).stream().map(DeadLetter::id)))
        .isEqualTo(dead.subList(700, 1_000));
  }

  @Test
  void deadLettersArePrunedByAge(Broker broker, TestSchema s) {
    broker.createQueue("poison", QueueOptions.defaults().deadLetterRetention(Duration.ofHours(1)));
    List<Long> dead = deadLetter(s, "poison", 1_000);
    s.execute(
        "update %s.dead_letter set dead_at = dead_at - interval '2 hours' where id in"
            + " (select id from %s.dead_letter order by id limit 400)");

    broker.maintain();

    assertThat(s.count("select count(*) from %s.dead_letter")).isEqualTo(600);
    assertThat(ids(broker.deadLetters("poison").list(10_000).stream().map(DeadLetter::id)))
        .isEqualTo(dead.subList(400, 1_000));
  }

  @Test
  void eachPruneDeletesAtMostItsBatchInATransactionOfItsOwn(Broker broker, TestSchema s) {
    broker.createQueue("poison", QueueOptions.defaults().deadLetterLimit(10));
    deadLetter(s, "poison", 2_510);

    assertThat(s.count("select %s.prune(100)")).isEqualTo(100);
    assertThat(s.count("select count(*) from %s.dead_letter")).isEqualTo(2_410);

    assertThat(Maintenance.prune(TestDatabase.dataSource(), s.name())).isEqualTo(2_400);
    assertThat(s.count("select count(*) from %s.dead_letter")).isEqualTo(10);
    assertThat(s.count("select %s.prune()")).isZero();
  }

  @Test
  void concurrentPrunersDeleteEachRowOnce(Broker broker, TestSchema s) {
    broker.createQueue(
        "kept", QueueOptions.defaults().retention(Duration.ofDays(1)).archiveLimit(50));
    broker.createQueue("poison", QueueOptions.defaults().deadLetterLimit(50));
    sendAndAck(broker, "kept", 1_050);
    deadLetter(s, "poison", 3_050);

    List<CompletableFuture<Long>> pruners = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      pruners.add(
          CompletableFuture.supplyAsync(
              () -> Maintenance.prune(TestDatabase.dataSource(), s.name())));
    }
    long deleted = pruners.stream().mapToLong(CompletableFuture::join).sum();

    assertThat(deleted).isEqualTo(4_000);
    assertThat(s.count("select count(*) from %s.archive")).isEqualTo(50);
    assertThat(s.count("select count(*) from %s.dead_letter")).isEqualTo(50);
  }

  @Test
  void theWorkersLeaderPrunesByItself(Broker broker, TestSchema s) {
    broker.createQueue("poison", QueueOptions.defaults().deadLetterLimit(5));
    broker.createQueue("other");
    deadLetter(s, "poison", 1_005);
    try (Worker w =
        broker
            .worker()
            .handle("other", d -> {})
            .maintenanceInterval(Duration.ofMillis(100))
            .start()) {
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> s.count("select count(*) from %s.dead_letter") == 5);
    }
  }

  @Test
  void badRetentionSettingsAreRefusedOnBothFacesAndChangeNothing(Broker broker, TestSchema s) {
    broker.createQueue("kept", QueueOptions.defaults().archiveLimit(7));
    assertThatThrownBy(() -> QueueOptions.defaults().archiveLimit(-1))
        .hasMessage("archiveLimit must be from 0 (no limit) to 1000000000000000, was -1");
    assertThatThrownBy(() -> QueueOptions.defaults().deadLetterLimit(Long.MAX_VALUE))
        .hasMessageContaining("deadLetterLimit must be from 0 (no limit)");
    assertThatThrownBy(() -> QueueOptions.defaults().deadLetterRetention(Duration.ofMillis(-1)))
        .hasMessage("deadLetterRetention must be >= 0, was PT-0.001S");
    for (String bad : List.of("-1", "1.5", "\"7\"", "true", "[1]", "1e16")) {
      for (String key :
          List.of("archive_max_count", "dead_letter_retention_ms", "dead_letter_max_count")) {
        assertThatThrownBy(
                () -> s.execute("select %s.create_queue('kept', '{\"" + key + "\": " + bad + "}')"))
            .hasStackTraceContaining(key + " must be a whole number from 0");
      }
    }
    assertThatThrownBy(() -> s.execute("select %s.prune(0)"))
        .hasStackTraceContaining("batch must be between 1 and 100000, was 0");
    assertThat(broker.queueOptions("kept").archiveLimit()).isEqualTo(7);
    assertThat(broker.queueOptions("kept").deadLetterLimit()).isZero();
  }

  private static List<Long> sendAndAck(Broker broker, String queue, int n) {
    List<Long> acked = new ArrayList<>();
    for (int i = 0; i < n; i += 500) {
      broker.sendBatch(queue, IntStream.range(i, Math.min(n, i + 500)).boxed().toList());
      List<Delivery> got = broker.read(queue, 500);
      assertThat(broker.ackAll(got)).isEmpty();
      got.forEach(d -> acked.add(d.id()));
    }
    assertThat(acked).hasSize(n);
    return acked;
  }

  /**
   * Sends n messages and dead-letters them through read() and the settle function the worker uses,
   * 500 per statement, so later batches die later; returns their ids in order of death.
   */
  private static List<Long> deadLetter(TestSchema s, String queue, int n) {
    List<Long> dead = new ArrayList<>();
    for (int i = 0; i < n; i += 500) {
      List<Long> batch =
          s.broker().sendBatch(queue, IntStream.range(i, Math.min(n, i + 500)).boxed().toList());
      long moved =
          s.count(
              ("with r as (select * from %s.read('QUEUE', 500, 60000))"
                      + " select count(*) from %s._nack('QUEUE',"
                      + " (select array_agg(id order by id) from r),"
                      + " (select array_agg(lease order by id) from r),"
                      + " (select array_agg(0::bigint) from r),"
                      + " (select array_agg('poison ' || id order by id) from r), true)")
                  .replace("QUEUE", queue));
      assertThat(moved).isEqualTo(batch.size());
      dead.addAll(batch);
    }
    assertThat(dead).hasSize(n);
    return dead;
  }

  private static List<Long> ids(java.util.stream.Stream<Long> ids) {
    return ids.sorted().toList();
  }
}
