package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(BrokerExtension.class)
class WorkerTest {
  record Email(String to) {}

  /** Long enough that anything a test sees sooner came by notification or timer, not polling. */
  private static final Duration SLOW_POLL = Duration.ofMinutes(1);

  @Test
  void typedHandlerReceivesEveryMessageOnce(Broker broker) throws Exception {
    broker.createQueue("emails");
    Set<String> seen = ConcurrentHashMap.newKeySet();
    AtomicInteger calls = new AtomicInteger();
    try (Worker w =
        broker
            .worker()
            .handle(
                "emails",
                Email.class,
                e -> {
                  seen.add(e.to());
                  calls.incrementAndGet();
                })
            .concurrency("emails", 4)
            .start()) {
      broker.sendBatch(
          "emails", IntStream.range(0, 500).mapToObj(i -> new Email("u" + i)).toList());
      await().atMost(Duration.ofSeconds(30)).until(() -> seen.size() == 500);
    }
    assertThat(calls).hasValue(500);
    assertThat(broker.stats("emails").acked()).isEqualTo(500);
  }

  @Test
  void slowHandlersFillEveryHandlerSlotAndNoMore(Broker broker) {
    broker.createQueue("slow");
    AtomicInteger running = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    CountDownLatch release = new CountDownLatch(1);
    try (Worker w =
        broker
            .worker()
            .handle(
                "slow",
                d -> {
                  most.accumulateAndGet(running.incrementAndGet(), Math::max);
                  try {
                    release.await();
                  } finally {
                    running.decrementAndGet();
                  }
                })
            .concurrency("slow", 20)
            .start()) {
      broker.sendBatch("slow", IntStream.range(0, 50).boxed().toList());
      // Slots start one after another while messages wait: all 20 soon run at once.
      await().atMost(Duration.ofSeconds(10)).until(() -> running.get() == 20);
      await().pollDelay(Duration.ofMillis(300)).until(() -> true);
      assertThat(most).hasValue(20);
      release.countDown();
      await().atMost(Duration.ofSeconds(30)).until(() -> broker.stats("slow").acked() == 50);
    }
    assertThat(most).hasValue(20);
  }

  @Test
  void idleWorkerIsWokenByNotificationNotPolling(Broker broker) {
    broker.createQueue("push");
    CountDownLatch got = new CountDownLatch(3);
    try (Worker w =
        broker.worker().handle("push", d -> got.countDown()).pollInterval(SLOW_POLL).start()) {
      await().pollDelay(Duration.ofMillis(300)).until(() -> true); // let the worker go idle
      broker.send("push", 1);
      await().atMost(Duration.ofSeconds(5)).until(() -> got.getCount() == 2);
      broker.send("push", 2);
      broker.send("push", 3);
      await().atMost(Duration.ofSeconds(5)).until(() -> got.getCount() == 0);
    }
  }

  @Test
  void transactionalSendWakesTheWorkerOnlyWhenItCommits(Broker broker, javax.sql.DataSource ds)
      throws Exception {
    broker.createQueue("txpush");
    CountDownLatch got = new CountDownLatch(1);
    try (Worker w =
            broker.worker().handle("txpush", d -> got.countDown()).pollInterval(SLOW_POLL).start();
        java.sql.Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      broker.send(c, "txpush", "x", SendOptions.none());
      assertThat(got.await(300, TimeUnit.MILLISECONDS)).as("not before commit").isFalse();
      c.commit();
      assertThat(got.await(5, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void delayedMessageRunsWhenDueAndNotBefore(Broker broker, TestSchema schema) {
    broker.createQueue("delayed");
    List<Instant> startedAt = new CopyOnWriteArrayList<>();
    try (Worker w =
        broker
            .worker()
            .handle("delayed", d -> startedAt.add(schema.now()))
            .pollInterval(SLOW_POLL)
            .start()) {
      Instant sent = schema.now();
      broker.send("delayed", "later", SendOptions.none().delay(Duration.ofMillis(800)));
      await().atMost(Duration.ofSeconds(10)).until(() -> !startedAt.isEmpty());
      assertThat(Duration.between(sent, startedAt.get(0)))
          .isGreaterThanOrEqualTo(Duration.ofMillis(800));
    }
  }

  @Test
  void failingHandlerIsRetriedThenDeadLetteredWithItsStackTrace(Broker broker) {
    broker.createQueue(
        "flaky", QueueOptions.defaults().maxAttempts(3).backoffSchedule(Duration.ofMillis(50)));
    AtomicInteger attempts = new AtomicInteger();
    List<String> events = new CopyOnWriteArrayList<>();
    WorkerListener listener =
        new WorkerListener() {
          @Override
          public void failed(Delivery d, Throwable e, Duration took, boolean willRetry) {
            events.add("failed retry=" + willRetry);
          }

          @Override
          public void deadLettered(Delivery d, String error) {
            events.add("dead");
          }
        };
    try (Worker w =
        broker
            .worker()
            .handle(
                "flaky",
                d -> {
                  attempts.incrementAndGet();
                  throw new IllegalStateException("card declined");
                })
            .listener(listener)
            .start()) {
      broker.send("flaky", "pay");
      await().atMost(Duration.ofSeconds(10)).until(() -> events.contains("dead"));
    }
    assertThat(attempts).hasValue(3);
    assertThat(events)
        .containsExactly("failed retry=true", "failed retry=true", "failed retry=false", "dead");
    DeadLetter dead = broker.deadLetters("flaky").list(1).get(0);
    assertThat(dead.lastError())
        .contains("java.lang.IllegalStateException: card declined")
        .contains("at dev.pgbroker.WorkerTest");
  }

  /**
   * A retry due before its failed attempt's bookkeeping ended (here a slow failure listener, with
   * one handler slot, so the retry waits in the buffer meanwhile) is still run, not taken for lost
   * and left to wait out its lease (a minute here).
   */
  @Test
  void aRetryFetchedWhileItsFailedAttemptIsStillFinishingIsRun(Broker broker) {
    broker.createQueue(
        "quickretry",
        QueueOptions.defaults()
            .backoffSchedule(Duration.ofMillis(10))
            .visibilityTimeout(Duration.ofMinutes(1)));
    List<Integer> attempts = new CopyOnWriteArrayList<>();
    WorkerListener slowToRecordFailures =
        new WorkerListener() {
          @Override
          public void failed(Delivery d, Throwable e, Duration took, boolean willRetry) {
            await().pollDelay(Duration.ofMillis(500)).until(() -> true);
          }
        };
    try (Worker w =
        broker
            .worker()
            .handle(
                "quickretry",
                d -> {
                  attempts.add(d.attempt());
                  if (d.attempt() == 1) {
                    throw new IllegalStateException("declined once");
                  }
                })
            .concurrency("quickretry", 1)
            .pollInterval(Duration.ofMillis(50)) // fetches the retry while the listener sleeps
            .listener(slowToRecordFailures)
            .start()) {
      broker.send("quickretry", "pay");
      await().atMost(Duration.ofSeconds(10)).until(() -> attempts.size() == 2);
    }
    assertThat(attempts).containsExactly(1, 2);
  }

  @Test
  void poisonSignalDeadLettersAtOnceAndRetryLaterPicksTheDelay(Broker broker) {
    broker.createQueue("signals");
    AtomicInteger tries = new AtomicInteger();
    try (Worker w =
        broker
            .worker()
            .handle(
                "signals",
                d -> {
                  String p = d.payload(String.class);
                  if (p.equals("poison")) {
                    throw new PoisonMessageException("unparseable order");
                  }
                  if (tries.incrementAndGet() == 1) {
                    throw new RetryLaterException(Duration.ofMillis(300), "bank busy");
                  }
                })
            .start()) {
      broker.send("signals", "poison");
      broker.send("signals", "busy");
      await().atMost(Duration.ofSeconds(10)).until(() -> tries.get() == 2);
    }
    DeadLetter dead = broker.deadLetters("signals").list(10).get(0);
    assertThat(dead.attempts()).isEqualTo(1);
    assertThat(dead.lastError()).isEqualTo("unparseable order");
    assertThat(broker.stats("signals").dead()).isEqualTo(1);
  }

  @Test
  void transactionalHandlerWritesCommitWithTheAck(Broker broker, TestSchema s) {
    broker.createQueue("orders");
    s.execute("create table %s.booked (id bigint primary key)");
    try (Worker w =
        broker
            .worker()
            .handleInTransaction(
                "orders",
                (tx, d) -> {
                  try (PreparedStatement ps =
                      tx.prepareStatement("insert into " + s.name() + ".booked values (?)")) {
                    ps.setLong(1, d.id());
                    ps.execute();
                  }
                  if (d.payload(Integer.class) % 10 == 0 && d.attempt() == 1) {
                    throw new IllegalStateException("rolled back with its insert");
                  }
                })
            .start()) {
      broker.sendBatch("orders", IntStream.range(0, 100).boxed().toList());
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  s.count("select count(*) from %s.booked") == 100
                      && s.count("select count(*) from %s.message") == 0);
    }
    assertThat(broker.stats("orders").failed()).isEqualTo(10);
  }

  @Test
  void longHandlerKeepsItsLeasePastTheVisibilityTimeout(Broker broker) {
    broker.createQueue("long", QueueOptions.defaults().visibilityTimeout(Duration.ofMillis(600)));
    AtomicInteger runs = new AtomicInteger();
    List<String> lost = new CopyOnWriteArrayList<>();
    try (Worker w =
        broker
            .worker()
            .handle(
                "long",
                d -> {
                  runs.incrementAndGet();
                  Thread.sleep(
                      2000); // over three visibility timeouts; the heartbeat runs every 200 ms
                })
            .listener(
                new WorkerListener() {
                  @Override
                  public void leaseLost(Delivery d) {
                    lost.add("lost " + d.id());
                  }
                })
            .start()) {
      broker.send("long", "slow job");
      await().atMost(Duration.ofSeconds(10)).until(() -> broker.stats("long").acked() == 1);
      assertThat(broker.read("long", 1)).as("nobody else got it").isEmpty();
    }
    assertThat(runs).hasValue(1);
    assertThat(lost).isEmpty();
  }

  @Test
  void closeDrainsRunningHandlersAndFlushesTheirAcks(Broker broker, TestSchema s) throws Exception {
    broker.createQueue("drain");
    AtomicInteger finished = new AtomicInteger();
    CountDownLatch started = new CountDownLatch(4);
    Worker w =
        broker
            .worker()
            .handle(
                "drain",
                d -> {
                  started.countDown();
                  Thread.sleep(500);
                  finished.incrementAndGet();
                })
            .concurrency("drain", 4)
            .start();
    broker.sendBatch("drain", List.of(1, 2, 3, 4, 5, 6, 7, 8));
    assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();

    assertThat(w.close(Duration.ofSeconds(10))).isTrue();
    w.close(); // a second close does nothing

    assertThat(finished).hasValue(4);
    assertThat(broker.stats("drain").acked()).isEqualTo(4);
    assertThat(broker.read("drain", 10)).as("the rest are free for others").hasSize(4);
  }

  @Test
  void badConfigurationIsRefusedBeforeAnythingStarts(Broker broker) {
    broker.createQueue("ok");
    assertThatThrownBy(() -> broker.worker().start()).hasMessageContaining("at least one handler");
    assertThatThrownBy(() -> broker.worker().handle("missing", d -> {}).start())
        .isInstanceOf(UnknownQueueException.class);
    assertThatThrownBy(() -> broker.worker().concurrency("ok", 0))
        .hasMessage("concurrency must be between 1 and 10000, was 0");
    assertThatThrownBy(() -> broker.worker().handle("ok", d -> {}).handle("ok", d -> {}))
        .hasMessageContaining("already has a handler");
    assertThatThrownBy(() -> broker.worker().pollInterval(Duration.ZERO))
        .hasMessageContaining("pollInterval");
  }

  @Test
  void poolTooSmallForTheWorkerIsRefusedAtStartWithTheSizeNeeded(Broker broker, TestSchema s) {
    broker.createQueue("tiny");
    try (com.zaxxer.hikari.HikariDataSource one =
            dev.pgbroker.testing.TestDatabase.pool(dev.pgbroker.testing.TestDatabase.jdbcUrl(), 1);
        Broker small = Broker.create(one).schema(s.name()).migrate(false).build()) {
      assertThatThrownBy(() -> small.worker().handle("tiny", d -> {}).start())
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("the connection pool allows 1 connection(s)")
          .hasMessageContaining("needs at least 2");
      try (Worker polling = small.worker().handle("tiny", d -> {}).listenNotify(false).start()) {
        assertThat(polling.inFlight()).isZero();
      }
    }
  }

  @Test
  void runUntilIdleDrainsTheQueueForUsersTests(Broker broker) {
    broker.createQueue("idle");
    broker.sendBatch("idle", List.of(1, 2, 3));
    AtomicInteger handled = new AtomicInteger();
    dev.pgbroker.testing.RunUntilIdle.run(
        broker,
        broker.worker().handle("idle", d -> handled.incrementAndGet()),
        Duration.ofSeconds(20),
        "idle");
    assertThat(handled).hasValue(3);
    assertThat(broker.stats("idle").acked()).isEqualTo(3);
  }

  @Test
  void acksOfMessagesWithoutKeysGoInAFewStatements(Broker broker, TestSchema s) {
    broker.createQueue("many");
    broker.sendBatch("many", IntStream.range(0, 800).boxed().toList());
    long start = System.nanoTime();
    try (Worker w =
        broker.worker().handle("many", d -> Thread.sleep(2)).concurrency("many", 8).start()) {
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> s.count("select count(*) from %s.message") == 0);
    }
    long tookMs = (System.nanoTime() - start) / 1_000_000;
    // In the default 5 ms flushes, about one statement per 5 ms; waiting while others are under
    // way, one per 100 ms (or per 1,000).
    assertThat(s.ackStatements("many"))
        .as("ack statements for 800 messages that took %d ms", tookMs)
        .isLessThanOrEqualTo(tookMs / 50 + 2);
  }

  @Test
  void slotsEndingAfterAnEmptyReadSendNoFurtherReads(TestSchema s) {
    AtomicInteger reads = new AtomicInteger();
    DataSource counted = countingReads(dev.pgbroker.testing.TestDatabase.dataSource(), reads);
    try (Broker broker = Broker.create(counted).schema(s.name()).migrate(false).build()) {
      broker.createQueue("burst");
      broker.sendBatch("burst", IntStream.range(1, 41).boxed().toList());
      try (Worker w =
          broker
              .worker()
              .handle("burst", d -> Thread.sleep(10L * d.payload(Integer.class)))
              .concurrency("burst", 40)
              .pollInterval(SLOW_POLL)
              .start()) {
        await().atMost(Duration.ofSeconds(30)).until(() -> broker.stats("burst").acked() == 40);
      }
    }
    // A read leases all 40 and the next finds the queue empty (3 reads in all, measured). Then a
    // slot ends every 10 ms: each of them used to send a read (and a due-time query) of its own,
    // 37-43 reads in all.
    assertThat(reads).as("reads for 40 messages in 40 slots").hasValueLessThanOrEqualTo(5);
  }

  /** {@code ds}, counting the reads prepared on its connections. */
  private static DataSource countingReads(DataSource ds, AtomicInteger reads) {
    return proxy(
        DataSource.class,
        ds,
        (m, args, result) -> {
          if (result instanceof Connection c) {
            return proxy(
                Connection.class,
                c,
                (cm, cargs, cresult) -> {
                  if (cm.getName().equals("prepareStatement")
                      && String.valueOf(cargs[0]).contains("._read(")) {
                    reads.incrementAndGet();
                  }
                  return cresult;
                });
          }
          return result;
        });
  }

  /** What a proxy does with a call's result, after passing the call to its target. */
  private interface AfterCall {
    Object apply(Method m, Object[] args, Object result);
  }

  private static <T> T proxy(Class<T> type, T target, AfterCall after) {
    return type.cast(
        Proxy.newProxyInstance(
            type.getClassLoader(),
            new Class<?>[] {type},
            (p, m, args) -> {
              try {
                return after.apply(m, args, m.invoke(target, args));
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            }));
  }
}
