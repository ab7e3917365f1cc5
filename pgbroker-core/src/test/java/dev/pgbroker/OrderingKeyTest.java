package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(BrokerExtension.class)
class OrderingKeyTest {
  record Step(String key, int seq) {}

  @Test
  void sameKeyIsDeliveredOneAtATimeInSendOrderUnderFourConsumers(Broker broker) throws Exception {
    broker.createQueue("ordered");
    int keys = 8;
    int perKey = 50;
    for (int seq = 0; seq < perKey; seq++) {
      for (int k = 0; k < keys; k++) {
        broker.send("ordered", new Step("k" + k, seq), SendOptions.none().orderingKey("k" + k));
      }
    }
    // Each delivery's holding interval runs from receive returning to ack starting; a correct
    // broker leases the next message of a key only after the previous ack commits, so one key's
    // intervals never overlap. The short sleep widens them so a violation would show.
    Map<String, List<long[]>> held = new ConcurrentHashMap<>();
    AtomicInteger sameKeyInOneBatch = new AtomicInteger();
    AtomicInteger done = new AtomicInteger();
    ExecutorService consumers = Executors.newFixedThreadPool(4);
    List<Future<?>> running = new ArrayList<>();
    for (int c = 0; c < 4; c++) {
      running.add(
          consumers.submit(
              () -> {
                while (done.get() < keys * perKey) {
                  List<Delivery> got = broker.read("ordered", 5);
                  long received = System.nanoTime();
                  if (got.stream().map(Delivery::orderingKey).distinct().count() < got.size()) {
                    sameKeyInOneBatch.incrementAndGet();
                  }
                  for (Delivery d : got) {
                    Step s = d.payload(Step.class);
                    Thread.sleep(1);
                    held.computeIfAbsent(
                            s.key(), x -> Collections.synchronizedList(new ArrayList<>()))
                        .add(new long[] {received, System.nanoTime(), s.seq()});
                    broker.ack(d);
                    done.incrementAndGet();
                  }
                }
                return null;
              }));
    }
    for (Future<?> f : running) {
      f.get(60, TimeUnit.SECONDS);
    }
    consumers.shutdown();

    assertThat(sameKeyInOneBatch).hasValue(0);
    assertThat(held).hasSize(keys);
    for (List<long[]> intervals : held.values()) {
      List<long[]> byStart = new ArrayList<>(intervals);
      byStart.sort(Comparator.comparingLong(i -> i[0]));
      assertThat(byStart)
          .extracting(i -> (int) i[2])
          .as("send order")
          .containsExactlyElementsOf(IntStream.range(0, perKey).boxed().toList());
      for (int i = 1; i < byStart.size(); i++) {
        assertThat(byStart.get(i)[0])
            .as("received before the previous of its key was acked")
            .isGreaterThan(byStart.get(i - 1)[1]);
      }
    }
  }

  @Test
  void failingHeadHoldsItsKeyUntilItSucceeds(Broker broker) {
    broker.createQueue("held", QueueOptions.defaults().backoffSchedule(Duration.ZERO));
    broker.send("held", "first", SendOptions.none().orderingKey("acct-1"));
    broker.send("held", "second", SendOptions.none().orderingKey("acct-1"));
    broker.send("held", "other", SendOptions.none().orderingKey("acct-2"));

    List<Delivery> got = broker.read("held", 10);
    assertThat(got)
        .extracting(d -> d.payload(String.class))
        .containsExactlyInAnyOrder("first", "other");
    Delivery first =
        got.stream().filter(d -> d.payload(String.class).equals("first")).findFirst().get();
    broker.nack(first, "try again");

    List<Delivery> retry = broker.read("held", 10);
    assertThat(retry).extracting(d -> d.payload(String.class)).containsExactly("first");
    broker.ack(retry.get(0));
    assertThat(broker.read("held", 10))
        .extracting(d -> d.payload(String.class))
        .containsExactly("second");
  }

  @Test
  void deadLetteredHeadReleasesItsKey(Broker broker, TestSchema s) {
    broker.createQueue("release", QueueOptions.defaults().maxAttempts(1));
    broker.send("release", "head", SendOptions.none().orderingKey("k"));
    broker.send("release", "next", SendOptions.none().orderingKey("k"));

    broker.nack(broker.read("release", 10).get(0), "fatal");

    assertThat(broker.read("release", 10))
        .extracting(d -> d.payload(String.class))
        .containsExactly("next");
  }

  /**
   * A read that picks a key's newer message finds the key's older lease run out: it takes that
   * lease over (delivering the older message again), or dead-letters it when that was its last
   * attempt and delivers the newer one. (The older message comes after the newer in fetch order: a
   * lease that runs out is due from its end, not from its send.)
   */
  @Test
  void aReadTakesOverOrDeadLettersARunOutLeaseOfTheKeyItPicks(Broker broker) throws Exception {
    for (int maxAttempts : new int[] {2, 1}) {
      String queue = "runout" + maxAttempts;
      broker.createQueue(queue, QueueOptions.defaults().maxAttempts(maxAttempts));
      broker.send(queue, "older", SendOptions.none().orderingKey("k"));
      assertThat(broker.read(queue, 1, Duration.ofMillis(200))).hasSize(1);
      broker.send(queue, "newer", SendOptions.none().orderingKey("k"));
      Thread.sleep(300);

      List<Delivery> got = broker.read(queue, 1);

      String expected = maxAttempts == 2 ? "older" : "newer";
      assertThat(got).extracting(d -> d.payload(String.class)).containsExactly(expected);
      assertThat(broker.deadLetters(queue).list(10)).hasSize(2 - maxAttempts);
      assertThat(broker.read(queue, 10)).as("the key is in flight").isEmpty();
      broker.ack(got.get(0));
      if (maxAttempts == 2) {
        assertThat(broker.read(queue, 10))
            .extracting(d -> d.payload(String.class))
            .containsExactly("newer");
      }
    }
  }

  @Test
  void olderMessageThatCommitsLateWaitsWhileANewerOneOfItsKeyIsLeased(Broker broker, DataSource ds)
      throws Exception {
    broker.createQueue("late");
    Delivery newer;
    try (Connection tx = ds.getConnection()) {
      tx.setAutoCommit(false);
      broker.send(tx, "late", "older", SendOptions.none().orderingKey("k")); // the smaller id
      broker.send("late", "newer", SendOptions.none().orderingKey("k")); // commits first
      newer = broker.read("late", 10).get(0);
      tx.commit();
    }
    assertThat(newer.payload(String.class)).isEqualTo("newer");

    assertThat(broker.read("late", 10)).as("the key is in flight").isEmpty();
    broker.ack(newer);
    assertThat(broker.read("late", 10))
        .extracting(d -> d.payload(String.class))
        .containsExactly("older");
  }

  @Test
  void replayedDeadLetterWaitsWhileANewerMessageOfItsKeyIsLeased(Broker broker) {
    broker.createQueue("replayed", QueueOptions.defaults().maxAttempts(1));
    long head = broker.send("replayed", "head", SendOptions.none().orderingKey("k"));
    broker.send("replayed", "next", SendOptions.none().orderingKey("k"));
    broker.nack(broker.read("replayed", 10).get(0), "fatal");
    Delivery next = broker.read("replayed", 10).get(0);

    assertThat(broker.deadLetters("replayed").replay(head)).isTrue();

    assertThat(broker.read("replayed", 10)).as("the key is in flight").isEmpty();
    broker.ack(next);
    assertThat(broker.read("replayed", 10)).extracting(Delivery::id).containsExactly(head);
  }

  @Test
  void readInsideAnOpenTransactionHoldsItsKeyAgainstEveryOtherReader(
      Broker broker, DataSource ds, TestSchema s) throws Exception {
    broker.createQueue("open");
    String read = "select id, lease from " + s.name() + ".read('open', 10)";
    try (Connection sender = ds.getConnection();
        Connection first = ds.getConnection();
        Connection second = ds.getConnection()) {
      sender.setAutoCommit(false);
      first.setAutoCommit(false);
      broker.send(sender, "open", "older", SendOptions.none().orderingKey("k"));
      long newer = broker.send("open", "newer", SendOptions.none().orderingKey("k"));
      List<long[]> got = leases(first, read);
      assertThat(got).extracting(r -> r[0]).containsExactly(newer);
      sender.commit(); // the older message is now visible, while the newer one's lease is not yet

      assertThat(leases(second, read)).as("the open reader holds the key").isEmpty();
      first.commit();
      assertThat(leases(second, read)).as("the newer one is leased").isEmpty();
      assertThat(s.count("select count(*) from %s.message where visible_at = 'infinity'"))
          .as("the older one waits parked")
          .isOne();
    }
    assertThat(broker.read("open", 10)).as("nothing while the newer one is leased").isEmpty();
    s.execute(
        "select %s.ack('open', id, lease::text) from %s.message where lease is not null"
            .replace("%s", s.name()));
    assertThat(broker.read("open", 10))
        .extracting(d -> d.payload(String.class))
        .containsExactly("older");
  }

  @Test
  void backlogBehindAHeldKeyIsParkedOutOfTheFetchPath(Broker broker, TestSchema s) {
    broker.createQueue("stuck");
    broker.sendBatch(
        "stuck", IntStream.range(0, 300).boxed().toList(), SendOptions.none().orderingKey("stuck"));
    Delivery head = broker.read("stuck", 1).get(0);
    broker.sendBatch("stuck", List.of("a", "b", "c"));

    assertThat(broker.read("stuck", 50))
        .as("the held key's backlog is parked on the way, and the read goes on past it")
        .extracting(d -> d.payload(String.class))
        .containsExactly("a", "b", "c");
    assertThat(s.count("select count(*) from %s.message where visible_at = 'infinity'"))
        .isEqualTo(299);
    broker.send("stuck", "d");
    assertThat(broker.read("stuck", 50))
        .extracting(d -> d.payload(String.class))
        .containsExactly("d");
    assertThat(broker.stats("stuck").ready()).as("parked messages count as ready").isEqualTo(299);

    broker.ack(head);
    assertThat(broker.read("stuck", 10))
        .as("settling the head wakes the next of its key")
        .extracting(d -> d.payload(Integer.class))
        .containsExactly(1);
  }

  @Test
  void workerDrainsKeysWithoutWaitingForAPoll(Broker broker) {
    broker.createQueue("keys");
    int keys = 5;
    int perKey = 200;
    for (int k = 0; k < keys; k++) {
      broker.sendBatch(
          "keys",
          IntStream.range(0, perKey).mapToObj(seq -> new Step("", seq)).toList(),
          SendOptions.none().orderingKey("k" + k));
    }
    Map<String, List<Integer>> seen = new ConcurrentHashMap<>();
    // No notifications and a poll far away: only settling a key's message may bring the next.
    try (Worker w =
        broker
            .worker()
            .handle(
                "keys",
                d ->
                    seen.computeIfAbsent(
                            d.orderingKey(), x -> Collections.synchronizedList(new ArrayList<>()))
                        .add(d.payload(Step.class).seq()))
            .listenNotify(false)
            .pollInterval(Duration.ofMinutes(10))
            .start()) {
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> seen.values().stream().mapToInt(List::size).sum() == keys * perKey);
    }
    assertThat(seen).hasSize(keys);
    seen.values()
        .forEach(
            got ->
                assertThat(got)
                    .containsExactlyElementsOf(IntStream.range(0, perKey).boxed().toList()));
  }

  @Test
  void aRunTakesItsKeysDueBacklogUpToAMessageItCannotLockOrThatIsNotDue(
      Broker broker, DataSource ds, TestSchema s) throws Exception {
    broker.createQueue("backlog");
    SendOptions k = SendOptions.none().orderingKey("k");
    broker.sendBatch("backlog", IntStream.range(0, 100).boxed().toList(), k);
    broker.send("backlog", 100, k.delay(Duration.ofHours(1)));
    broker.sendBatch("backlog", IntStream.range(101, 150).boxed().toList(), k);
    // Reads as the worker does (runs of up to 500), leasing and acknowledging what it got.
    String readAndAck =
        "with r as (select id, lease from %s._read('backlog', 10, null, 500))"
            + " select count(*) from %s._ack('backlog', (select array_agg(id) from r),"
            + " (select array_agg(lease) from r))";
    try (Connection other = ds.getConnection();
        Statement st = other.createStatement()) {
      other.setAutoCommit(false); // another reader holding message 40, as its fetch would
      st.execute(
          "select 1 from %s.message where payload = '40' for update".replace("%s", s.name()));

      assertThat(s.count(readAndAck))
          .as("a read of 10 leases the key's due messages in order up to the one held")
          .isEqualTo(40);
      assertThat(s.count("select count(*) from %s.message where visible_at = 'infinity'"))
          .as("those after it it had locked wait parked")
          .isEqualTo(59);
      other.rollback();
    }
    assertThat(s.count(readAndAck)).as("then up to the one not due").isEqualTo(60);
    assertThat(s.count(readAndAck)).as("the rest waits behind the one not due").isZero();
    assertThat(broker.stats("backlog").delayed()).isEqualTo(1);
    assertThat(broker.stats("backlog").ready()).isEqualTo(49);
  }

  @Test
  void aRunItsReaderNamesGrowsByItsKeysNextMessagesInsteadOfWaitingParked(
      Broker broker, TestSchema s) {
    broker.createQueue("grow");
    broker.sendBatch(
        "grow", IntStream.range(0, 30).boxed().toList(), SendOptions.none().orderingKey("k"));
    String named = "array(select distinct lease from %s.message where lease is not null)";
    String parked = "select count(*) from %s.message where visible_at = 'infinity'";
    // The worker names the runs it still handles ('{}': none yet). Then a read leases at most
    // four times max_messages in all, not the key's whole backlog: later reads grow the run.
    assertThat(s.count("select count(*) from %s._read('grow', 3, null, 500, '{}')")).isEqualTo(12);
    assertThat(s.count("select count(*) from %s._read('grow', 3, null, 500, " + named + ")"))
        .as("naming the run, the next read grows it by the key's next messages")
        .isEqualTo(12);
    assertThat(s.count("select count(distinct lease) from %s.message where lease is not null"))
        .as("under the run's one token")
        .isEqualTo(1);
    assertThat(s.count(parked)).as("nothing waits parked behind its own key's run").isZero();

    // The first message comes back unleased with its old id, as a replayed dead letter does.
    s.execute(
        "update %s.message set lease = null, visible_at = now()"
            + " where id = (select min(id) from %s.message)");
    assertThat(s.count("select count(*) from %s._read('grow', 3, null, 500, " + named + ")"))
        .as("a run grows only past its last message")
        .isZero();
    assertThat(s.count("select count(*) from %s.message where lease is not null")).isEqualTo(23);
    assertThat(s.count(parked)).isZero();
  }

  @Test
  void messagesSentWhileTheirKeysRunIsHandledJoinThatRun(Broker broker, TestSchema s)
      throws Exception {
    broker.createQueue("join");
    SendOptions k = SendOptions.none().orderingKey("k");
    CountDownLatch allSent = new CountDownLatch(1);
    List<Integer> handled = Collections.synchronizedList(new ArrayList<>());
    Set<UUID> leases = ConcurrentHashMap.newKeySet();
    try (Worker w =
        broker
            .worker()
            .handle(
                "join",
                d -> {
                  allSent.await(30, TimeUnit.SECONDS); // the first holds the run open
                  handled.add(d.payload(Integer.class));
                  leases.add(d.lease());
                })
            .start()) {
      broker.send("join", 0, k);
      await().atMost(Duration.ofSeconds(10)).until(() -> leases.isEmpty() && isLeased(s, 1));
      for (int i = 1; i < 50; i++) {
        broker.send("join", i, k); // one at a time, as an application's transactions come
      }
      // Parked behind the run, they would wait unleased until it ended.
      await().atMost(Duration.ofSeconds(10)).until(() -> isLeased(s, 50));
      allSent.countDown();
      await().atMost(Duration.ofSeconds(30)).until(() -> handled.size() == 50);
    }
    assertThat(handled).containsExactlyElementsOf(IntStream.range(0, 50).boxed().toList());
    assertThat(leases).as("one run, grown under its lease").hasSize(1);
    assertThat(s.count("select count(*) from %s.message")).isZero();
  }

  private static boolean isLeased(TestSchema s, int n) {
    return s.count("select count(*) from %s.message where lease is not null") == n;
  }

  @Test
  void aRunMemberThatFailsGivesBackTheRestSoNothingOvertakesIt(Broker broker) {
    broker.createQueue("run", QueueOptions.defaults().backoffSchedule(Duration.ofMillis(50)));
    broker.sendBatch(
        "run",
        IntStream.range(0, 10).mapToObj(seq -> new Step("k", seq)).toList(),
        SendOptions.none().orderingKey("k"));
    List<Integer> handled = Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean failedOnce = new AtomicBoolean();
    try (Worker w =
        broker
            .worker()
            .handle(
                "run",
                d -> {
                  int seq = d.payload(Step.class).seq();
                  if (seq == 3 && failedOnce.compareAndSet(false, true)) {
                    throw new IllegalStateException("once");
                  }
                  handled.add(seq);
                })
            .start()) {
      await().atMost(Duration.ofSeconds(30)).until(() -> handled.size() == 10);
    }
    assertThat(failedOnce).isTrue();
    assertThat(handled).containsExactlyElementsOf(IntStream.range(0, 10).boxed().toList());
  }

  @Test
  void aSlowRunIsAckedInAFewStatementsNotOneAMessage(Broker broker, TestSchema s) {
    broker.createQueue("slow");
    broker.sendBatch(
        "slow", IntStream.range(0, 40).boxed().toList(), SendOptions.none().orderingKey("k"));
    long start = System.nanoTime();
    try (Worker w = broker.worker().handle("slow", d -> Thread.sleep(5)).start()) {
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> s.count("select count(*) from %s.message") == 0);
    }
    long tookMs = (System.nanoTime() - start) / 1_000_000;
    // Acked as they came, in the default 5 ms flushes, the run took about one statement a message.
    assertThat(s.ackStatements("slow"))
        .as("ack statements for a run of 40 that took %d ms", tookMs)
        .isLessThanOrEqualTo(tookMs / 50 + 2);
  }

  @Test
  void aSettleThatFreesAParkedMessageNotifiesOtherInstancesAtItsCommit(
      Broker broker, DataSource ds, TestSchema s) throws Exception {
    broker.createQueue("wake");
    broker.sendBatch("wake", List.of("head", "next"), SendOptions.none().orderingKey("k"));
    Delivery head = broker.read("wake", 10).get(0);
    assertThat(broker.read("wake", 10)).as("next parks behind the leased head").isEmpty();
    try (Connection listen = ds.getConnection()) {
      try (Statement st = listen.createStatement()) {
        st.execute("listen \"" + s.name() + "\"");
      }
      broker.ack(head);
      org.postgresql.PGNotification[] got =
          listen.unwrap(org.postgresql.PGConnection.class).getNotifications(5000);
      assertThat(got).as("the ack that woke next notified").isNotNull();
      assertThat(got[0].getParameter()).isEqualTo("wake");
      try (Statement st = listen.createStatement()) {
        st.execute("unlisten *");
      }
    }
    assertThat(broker.read("wake", 10))
        .extracting(d -> d.payload(String.class))
        .containsExactly("next");
  }

  private static List<long[]> leases(Connection c, String sql) throws Exception {
    List<long[]> out = new ArrayList<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        out.add(new long[] {rs.getLong(1)});
      }
    }
    return out;
  }
}
