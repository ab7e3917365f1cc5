package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The history of every attempt: browsing live, archived and dead messages; replay; errors. */
@ExtendWith(BrokerExtension.class)
class HistoryTest {
  private static final QueueOptions FAST_RETRIES =
      QueueOptions.defaults().maxAttempts(2).backoffSchedule(Duration.ZERO);

  @Test
  void liveMessagesListOldestFirstWithTheirAttemptsAndErrors(Broker broker) {
    broker.createQueue("live", FAST_RETRIES.maxAttempts(5));
    long failing = broker.send("live", "a");
    broker.nack(broker.read("live", 1).get(0), "bank timeout");
    broker.nack(broker.read("live", 1).get(0), "bank down");
    long leased = broker.send("live", "b");
    long delayed = broker.send("live", "c", SendOptions.none().delay(Duration.ofHours(1)));
    List<Delivery> got = broker.read("live", 2);
    assertThat(got).extracting(Delivery::id).containsExactlyInAnyOrder(failing, leased);

    List<QueuedMessage> all = broker.messages("live").list(10);

    assertThat(all).extracting(QueuedMessage::id).containsExactly(failing, leased, delayed);
    QueuedMessage a = all.get(0);
    assertThat(a.attempts()).isEqualTo(3);
    assertThat(a.priorAttempts()).isZero();
    assertThat(a.leased()).isTrue();
    assertThat(a.payloadJson()).isEqualTo("\"a\"");
    assertThat(a.errors())
        .extracting(DeadLetter.AttemptError::attempt, DeadLetter.AttemptError::error)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(1, "bank timeout"),
            org.assertj.core.groups.Tuple.tuple(2, "bank down"));
    assertThat(a.errors().get(0).trace()).as("nack by hand gives no trace").isNull();
    QueuedMessage c = all.get(2);
    assertThat(c.leased()).isFalse();
    assertThat(c.attempts()).isZero();
    assertThat(c.visibleAt()).isAfter(java.time.Instant.now().plus(Duration.ofMinutes(50)));
    assertThat(c.errors()).isEmpty();

    assertThat(broker.messages("live").list(1))
        .extracting(QueuedMessage::id)
        .containsExactly(a.id());
    assertThat(broker.messages("live").find(delayed)).contains(c);
    assertThat(broker.messages("live").find(424242)).isEmpty();
    broker.ackAll(got);
    assertThat(broker.messages("live").list(10))
        .extracting(QueuedMessage::id)
        .containsExactly(delayed);
  }

  @Test
  void aMessageParkedBehindItsKeyHasNoVisibleTime(Broker broker) {
    broker.createQueue("keys");
    broker.send("keys", 1, SendOptions.none().orderingKey("k"));
    long second = broker.send("keys", 2, SendOptions.none().orderingKey("k"));
    assertThat(broker.read("keys", 10)).hasSize(1);
    broker.read("keys", 10); // walks past the held key and parks its backlog

    QueuedMessage parked = broker.messages("keys").find(second).orElseThrow();
    assertThat(parked.visibleAt()).isNull();
    assertThat(parked.leased()).isFalse();
    assertThat(parked.orderingKey()).isEqualTo("k");
  }

  @Test
  void archiveKeepsAttemptsAndErrorsOfAcknowledgedMessages(Broker broker) {
    broker.createQueue("kept", FAST_RETRIES.maxAttempts(5).retention(Duration.ofHours(1)));
    long id = broker.send("kept", "x", SendOptions.none().header("tenant", "acme"));
    broker.nack(broker.read("kept", 1).get(0), "first try failed");
    broker.ack(broker.read("kept", 1).get(0));
    broker.send("kept", "y");
    broker.ack(broker.read("kept", 1).get(0));

    List<ArchivedMessage> archived = broker.archive("kept").list(10);

    assertThat(archived).hasSize(2);
    ArchivedMessage a = archived.get(0);
    assertThat(a.id()).isEqualTo(id);
    assertThat(a.attempts()).isEqualTo(2);
    assertThat(a.priorAttempts()).isZero();
    assertThat(a.headers()).containsEntry("tenant", "acme");
    assertThat(a.ackedAt()).isNotNull();
    assertThat(a.errors())
        .extracting(DeadLetter.AttemptError::error)
        .containsExactly("first try failed");
    assertThat(archived.get(1).errors()).isEmpty();
    assertThat(broker.archive("kept").find(id)).contains(a);
    assertThat(broker.archive("kept").list(1)).containsExactly(a);
  }

  @Test
  void sqlBrowsesLiveArchivedAndDeadMessagesWithTheDocumentedQueries(
      Broker broker, DataSource ds, TestSchema s) throws Exception {
    broker.createQueue("sql", FAST_RETRIES.maxAttempts(2).retention(Duration.ofHours(1)));
    long live = broker.send("sql", 1);
    long acked = broker.send("sql", 2);
    long dead = broker.send("sql", 3);
    for (Delivery d : broker.read("sql", 3)) {
      if (d.id() == acked) {
        broker.ack(d);
      } else {
        broker.nack(d, "no " + d.id());
      }
    }
    broker.nack(broker.read("sql", 3).stream().filter(d -> d.id() == dead).findFirst().get(), "x");

    List<String> queries = documentedQueries(s);
    assertThat(queries).hasSize(3);

    assertThat(rows(ds, s, queries.get(0)))
        .singleElement()
        .satisfies(r -> assertThat(r).startsWith(live + "|2|0|t|").contains("\"error\": \"no 1\""));
    assertThat(rows(ds, s, queries.get(1)))
        .singleElement()
        .satisfies(r -> assertThat(r).startsWith(acked + "|1|0|").endsWith("|[]"));
    assertThat(rows(ds, s, queries.get(2))).containsExactly(dead + "|2|x");
  }

  @Test
  void listLimitsAndUnknownQueuesAreRefusedLikeDeadLetters(Broker broker) {
    broker.createQueue("limits");
    for (MessageBrowser<?> b : List.of(broker.messages("limits"), broker.archive("limits"))) {
      assertThatThrownBy(() -> b.list(0))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("limit must be between 1 and 10000, was 0");
      assertThatThrownBy(() -> b.list(10_001))
          .hasMessage("limit must be between 1 and 10000, was 10001");
    }
    assertThatThrownBy(() -> broker.deadLetters("limits").list(0))
        .hasMessage("limit must be between 1 and 10000, was 0");
    assertThatThrownBy(() -> broker.messages("nope").list(1))
        .isInstanceOf(UnknownQueueException.class);
    assertThatThrownBy(() -> broker.archive("nope").find(1))
        .isInstanceOf(UnknownQueueException.class);
    assertThatThrownBy(() -> broker.messages("Bad Name"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void replayedDeadLetterKeepsItsEarlierAttemptsAndErrorsWithAFreshBudget(
      Broker broker, TestSchema s) {
    broker.createQueue("again", FAST_RETRIES);
    long id = broker.send("again", "x");
    failUntilDead(broker, "again", "round 1");
    DeadLetterStore dead = broker.deadLetters("again");
    assertThat(dead.find(id).orElseThrow().priorAttempts()).isZero();

    assertThat(dead.replay(id)).isTrue();

    QueuedMessage back = broker.messages("again").find(id).orElseThrow();
    assertThat(back.attempts()).as("a fresh budget").isZero();
    assertThat(back.priorAttempts()).isEqualTo(2);
    assertThat(back.errors())
        .extracting(DeadLetter.AttemptError::error)
        .containsExactly("round 1 attempt 1", "round 1 attempt 2");
    assertThat(s.count("select prior_attempts from %s.message")).isEqualTo(2);

    assertThat(failUntilDead(broker, "again", "round 2"))
        .as("max_attempts deliveries again")
        .isEqualTo(2);
    DeadLetter twice = dead.find(id).orElseThrow();
    assertThat(twice.attempts()).isEqualTo(2);
    assertThat(twice.priorAttempts()).isEqualTo(2);
    assertThat(twice.errors())
        .extracting(DeadLetter.AttemptError::error)
        .containsExactly(
            "round 1 attempt 1", "round 1 attempt 2", "round 2 attempt 1", "round 2 attempt 2");

    dead.replay(id);
    assertThat(broker.messages("again").find(id).orElseThrow().priorAttempts()).isEqualTo(4);
    Delivery last = broker.read("again", 1).get(0);
    assertThat(last.attempt()).isEqualTo(1);
    broker.ack(last);
    assertThat(broker.stats("again").dead()).isZero();
  }

  @Test
  void replayedLeaseExpiryDeadLetterCountsItsAttemptsToo(Broker broker) {
    broker.createQueue("expired", QueueOptions.defaults().maxAttempts(1));
    long id = broker.send("expired", "x");
    broker.read("expired", 1, Duration.ofMillis(20));
    await()
        .atMost(Duration.ofSeconds(5))
        .until(
            () -> {
              broker.read("expired", 1); // buries it once the lease has run out
              return broker.deadLetters("expired").find(id).isPresent();
            });
    broker.deadLetters("expired").replay(id);

    QueuedMessage back = broker.messages("expired").find(id).orElseThrow();
    assertThat(back.priorAttempts()).isOne();
    assertThat(back.errors())
        .singleElement()
        .satisfies(e -> assertThat(e.error()).contains("lease expired"));
  }

  @Test
  void workerErrorsAreShortWithTheFullTraceBeside(Broker broker) {
    broker.createQueue("traced", FAST_RETRIES.maxAttempts(1));
    broker.send("traced", "x");
    AtomicInteger calls = new AtomicInteger();
    try (Worker w =
        broker
            .worker()
            .handle(
                "traced",
                d -> {
                  calls.incrementAndGet();
                  deep(40);
                })
            .start()) {
      await().atMost(Duration.ofSeconds(10)).until(() -> broker.stats("traced").dead() == 1);
    }
    DeadLetter.AttemptError e = broker.deadLetters("traced").list(1).get(0).errors().get(0);

    String[] lines = e.error().split("\n");
    assertThat(lines[0]).isEqualTo("java.lang.IllegalStateException: bank said no");
    assertThat(lines[1]).startsWith("\tat dev.pgbroker.HistoryTest.deep(");
    assertThat(lines).hasSize(6);
    assertThat(lines[4]).matches("\t\\.\\.\\. \\d+ more");
    assertThat(lines[5]).isEqualTo("root cause: java.io.IOException: connection reset");
    assertThat(e.trace())
        .startsWith("java.lang.IllegalStateException: bank said no")
        .contains("Caused by: java.io.IOException: connection reset")
        .hasSizeGreaterThan(e.error().length())
        .hasSizeLessThanOrEqualTo(Checks.MAX_ERROR_CHARS);
    assertThat(e.trace().lines().filter(l -> l.contains("HistoryTest.deep")).count())
        .isGreaterThan(3);
  }

  @Test
  void poisonAndRetryLaterKeepOnlyTheirReason() {
    assertThat(FailureRecorder.describe(new PoisonMessageException("cannot parse")))
        .isEqualTo("cannot parse");
    assertThat(FailureRecorder.trace(new PoisonMessageException("cannot parse"))).isNull();
    assertThat(FailureRecorder.describe(new RetryLaterException(Duration.ofSeconds(1), "busy")))
        .isEqualTo("busy");
  }

  private static void deep(int n) {
    if (n == 0) {
      throw new IllegalStateException("bank said no", new java.io.IOException("connection reset"));
    }
    deep(n - 1);
  }

  /** Reads and nacks until the message is dead; returns how many deliveries that took. */
  private static int failUntilDead(Broker broker, String queue, String round) {
    int deliveries = 0;
    for (List<Delivery> got; !(got = broker.read(queue, 1)).isEmpty(); ) {
      deliveries++;
      broker.nack(got.get(0), round + " attempt " + got.get(0).attempt());
    }
    return deliveries;
  }

  /** The browsing queries of docs/sql-api.md, for this test's schema and queue "sql". */
  private static List<String> documentedQueries(TestSchema s) throws Exception {
    String doc = Files.readString(Path.of("../docs/sql-api.md"));
    String section = doc.substring(doc.indexOf("## History of every attempt"));
    String block = section.substring(section.indexOf("```sql") + 6, section.indexOf("```\n\n"));
    List<String> out = new ArrayList<>();
    for (String q : block.split(";")) {
      if (!q.isBlank()) {
        out.add(q.replace("pgbroker.", s.name() + ".").replace("'emails'", "'sql'"));
      }
    }
    return out;
  }

  private static List<String> rows(DataSource ds, TestSchema s, String sql) throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c = ds.getConnection();
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql.replace("%s", s.name()))) {
      int n = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        List<String> cols = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
          cols.add(rs.getString(i));
        }
        out.add(String.join("|", cols));
      }
    }
    return out;
  }
}
