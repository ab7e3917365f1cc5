package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A dead-letter hook's writes commit in the transaction that moves the message, or not at all. */
@ExtendWith(BrokerExtension.class)
class DeadLetterHookTest {
  private static final QueueOptions FAST_RETRIES =
      QueueOptions.defaults().maxAttempts(2).backoffSchedule(Duration.ZERO);

  @Test
  void hookWritesCommitWithTheMoveOfAnExhaustedMessage(Broker broker, TestSchema s) {
    s.execute("create table %s.undelivered (id bigint primary key, error text)");
    broker.createQueue("orders", FAST_RETRIES);
    List<Long> ids = broker.sendBatch("orders", List.of(1, 2, 3));
    List<DeadLetter> seen = new CopyOnWriteArrayList<>();

    try (Worker w =
        broker
            .worker()
            .handle(
                "orders",
                d -> {
                  throw new IllegalStateException("no stock");
                })
            .onDeadLetter(
                "orders",
                (tx, dead) -> {
                  seen.add(dead);
                  assertThat(tx.getAutoCommit()).isFalse();
                  insert(tx, s, dead);
                })
            .start()) {
      await().atMost(Duration.ofSeconds(10)).until(() -> broker.stats("orders").dead() == 3);
    }

    assertThat(s.count("select count(*) from %s.undelivered")).isEqualTo(3);
    assertThat(seen).extracting(DeadLetter::id).containsExactlyInAnyOrderElementsOf(ids);
    assertThat(seen)
        .allSatisfy(
            d -> {
              assertThat(d.attempts()).isEqualTo(2);
              assertThat(d.errors()).hasSize(2);
              assertThat(d.lastError()).startsWith("java.lang.IllegalStateException: no stock");
            });
  }

  @Test
  void aFailingHookRollsTheMoveBackAndTheMessageIsRetried(Broker broker, TestSchema s) {
    s.execute("create table %s.undelivered (id bigint primary key, error text)");
    broker.createQueue("flaky", FAST_RETRIES);
    long id = broker.send("flaky", "x");
    AtomicInteger hookCalls = new AtomicInteger();
    AtomicInteger handled = new AtomicInteger();

    try (Worker w =
        broker
            .worker()
            .handle(
                "flaky",
                d -> {
                  handled.incrementAndGet();
                  throw new IllegalStateException("always");
                })
            .onDeadLetter(
                "flaky",
                (tx, dead) -> {
                  insert(tx, s, dead); // rolled back when the hook then throws
                  if (hookCalls.incrementAndGet() == 1) {
                    throw new java.sql.SQLException("audit table locked");
                  }
                })
            .start()) {
      await().atMost(Duration.ofSeconds(10)).until(() -> broker.stats("flaky").dead() == 1);
    }

    assertThat(hookCalls).hasValue(2);
    assertThat(handled).as("one more delivery after the failed move").hasValue(3);
    assertThat(s.count("select count(*) from %s.undelivered")).isOne();
    DeadLetter dead = broker.deadLetters("flaky").find(id).orElseThrow();
    assertThat(dead.errors()).hasSize(3);
    assertThat(dead.errors().get(1).error())
        .startsWith("dead-letter hook failed (java.sql.SQLException: audit table locked)")
        .contains("the handler's error: java.lang.IllegalStateException: always");
    assertThat(dead.attempts()).isEqualTo(3);
  }

  @Test
  void poisonMessagesRunTheHookToo(Broker broker, TestSchema s) {
    s.execute("create table %s.undelivered (id bigint primary key, error text)");
    broker.createQueue("poison");
    long id = broker.send("poison", "x");

    try (Worker w =
        broker
            .worker()
            .handleInTransaction(
                "poison",
                (tx, d) -> {
                  throw new PoisonMessageException("cannot parse");
                })
            .onDeadLetter("poison", (tx, dead) -> insert(tx, s, dead))
            .start()) {
      await().atMost(Duration.ofSeconds(10)).until(() -> broker.stats("poison").dead() == 1);
    }

    assertThat(
            s.count(
                "select count(*) from %s.undelivered where id = "
                    + id
                    + " and error ="
                    + " 'cannot parse'"))
        .isOne();
  }

  @Test
  void aRetriedFailureDoesNotRunTheHook(Broker broker, TestSchema s) {
    broker.createQueue("retry", QueueOptions.defaults().backoffSchedule(Duration.ofHours(1)));
    broker.send("retry", "x");
    AtomicInteger hookCalls = new AtomicInteger();
    try (Worker w =
        broker
            .worker()
            .handle(
                "retry",
                d -> {
                  throw new IllegalStateException("later");
                })
            .onDeadLetter("retry", (tx, dead) -> hookCalls.incrementAndGet())
            .start()) {
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> broker.messages("retry").list(1).get(0).errors().size() == 1);
    }
    assertThat(hookCalls).hasValue(0);
  }

  @Test
  void aLeaseRunningOutOnTheLastAttemptIsMovedByReadWithoutTheHook(Broker broker) {
    broker.createQueue("crashed", QueueOptions.defaults().maxAttempts(1));
    long id = broker.send("crashed", "x");
    assertThat(broker.read("crashed", 1, Duration.ofMillis(20))).hasSize(1); // then "crashes"
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> broker.messages("crashed").find(id).map(m -> !m.leased()).orElse(false));
    AtomicInteger hookCalls = new AtomicInteger();

    try (Worker w =
        broker
            .worker()
            .handle("crashed", d -> {})
            .onDeadLetter("crashed", (tx, dead) -> hookCalls.incrementAndGet())
            .start()) {
      await().atMost(Duration.ofSeconds(10)).until(() -> broker.stats("crashed").dead() == 1);
    }

    assertThat(hookCalls).as("documented: read() moves it, knowing no hook").hasValue(0);
    assertThat(broker.deadLetters("crashed").find(id).orElseThrow().lastError())
        .contains("lease expired");
  }

  @Test
  void hookNeedsAHandlerForItsQueue(Broker broker) {
    broker.createQueue("a");
    assertThatThrownBy(
            () -> broker.worker().handle("a", d -> {}).onDeadLetter("b", (tx, d) -> {}).start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("dead-letter hook set for queue 'b' which has no handler");
    assertThatThrownBy(
            () -> broker.worker().onDeadLetter("a", (tx, d) -> {}).onDeadLetter("a", (tx, d) -> {}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("queue 'a' already has a dead-letter hook");
  }

  private static void insert(Connection tx, TestSchema s, DeadLetter dead) throws Exception {
    try (PreparedStatement ps =
        tx.prepareStatement("insert into " + s.name() + ".undelivered values (?, ?)")) {
      ps.setLong(1, dead.id());
      ps.setString(2, dead.lastError());
      ps.executeUpdate();
    }
  }
}
