package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.OrderedWorkerProcess.Payload;
import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestDatabase;
import dev.pgbroker.testing.TestSchema;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.assertj.core.api.SoftAssertions;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Counts, against real PostgreSQL, what ordering keys promise while eight consumers race: two
 * worker JVMs (two handler slots each, one acking in batches, one acking in the handler's
 * transaction) and four threads calling the SQL {@code read()} directly, two of them inside an open
 * transaction. Producers meanwhile commit older messages late, dead-letter and replay them, and the
 * SQL readers sometimes hold a delivery past its lease; worker JVMs are paused (SIGSTOP) past their
 * leases too.
 *
 * <p>What is counted: a sampler looks at the message table over and over for a key with two live
 * leases; every handling is logged with its start, its end and whether its lease was still live at
 * the end ({@link RaceLog}), from which come: none lost, duplicates only after a lease ran out, no
 * two handlings of one key overlapping while both held their lease, and each key's messages first
 * handled in the order they became visible.
 */
@ExtendWith(BrokerExtension.class)
class OrderingRaceTest {
  static final String QUEUE = "race";

  /** The workers' lease (their heartbeat extends it every third of it). */
  static final Duration WORKER_LEASE = Duration.ofSeconds(1);

  /** The SQL readers' lease; they overstay it on a few first attempts. */
  static final int SQL_LEASE_MS = 250;

  static final int MAX_ATTEMPTS = 3;

  static final int LATE_PRODUCERS = 3;
  static final int LATE_ROUNDS_EACH = 200;
  static final int DEAD_LETTER_ROUNDS = 450;
  static final int PLAIN_ROUNDS = 1000;
  static final int HOT_KEYS = 3;

  /** Producers wait while the queue holds more than this, so a late round's wait stays short. */
  static final int BACKLOG = 60;

  @Test
  void eightConsumersNeverHoldAKeyTwiceAndHandleEachKeyInVisibilityOrder(
      Broker broker, TestSchema s) throws Exception {
    long began = System.nanoTime();
    broker.createQueue(
        QUEUE,
        QueueOptions.defaults()
            .visibilityTimeout(WORKER_LEASE)
            .maxAttempts(MAX_ATTEMPTS)
            .backoffSchedule(Duration.ofMillis(5)));
    RaceLog.createTables(s);
    Race race = new Race(broker, s);
    List<Process> workers =
        List.of(
            CompetingConsumersTest.javaProcess(
                OrderedWorkerProcess.class,
                TestDatabase.jdbcUrl(),
                s.name(),
                QUEUE,
                "worker-batched",
                "plain",
                "2"),
            CompetingConsumersTest.javaProcess(
                OrderedWorkerProcess.class,
                TestDatabase.jdbcUrl(),
                s.name(),
                QUEUE,
                "worker-tx",
                "tx",
                "2"));
    ExecutorService background = Executors.newCachedThreadPool();
    try {
      List<Future<?>> consumers = new ArrayList<>();
      consumers.add(background.submit(race.guard(race::sample)));
      consumers.add(background.submit(race.guard(race::replayDeadLetters)));
      for (int i = 0; i < 2; i++) {
        int n = i;
        consumers.add(background.submit(race.guard(() -> race.sqlReader("sql-" + n, false))));
        consumers.add(background.submit(race.guard(() -> race.sqlReader("sql-tx-" + n, true))));
      }
      consumers.add(background.submit(race.guard(() -> race.pauseWorkers(workers))));

      List<Future<?>> producers = new ArrayList<>();
      for (int i = 0; i < LATE_PRODUCERS; i++) {
        int n = i;
        producers.add(background.submit(race.guard(() -> race.lateCommits(n, LATE_ROUNDS_EACH))));
      }
      producers.add(background.submit(race.guard(() -> race.deadLetterRounds(DEAD_LETTER_ROUNDS))));
      producers.add(background.submit(race.guard(() -> race.plainRounds(PLAIN_ROUNDS))));
      try {
        for (Future<?> p : producers) {
          p.get(4, TimeUnit.MINUTES);
        }
      } catch (ExecutionException e) {
        throw new AssertionError("a producer failed; " + race.leftOver(), e.getCause());
      }
      race.producersDone.set(true); // from now on every dead letter is cured before its replay

      try {
        await("queue and dead letters drained")
            .atMost(Duration.ofMinutes(2))
            .pollInterval(Duration.ofMillis(50))
            .until(
                () ->
                    race.healthy()
                        && s.count("select count(*) from %s.message") == 0
                        && s.count("select count(*) from %s.dead_letter") == 0);
      } catch (ConditionTimeoutException e) {
        throw new AssertionError(race.leftOver(), e);
      }
      race.stop.set(true);
      for (Future<?> c : consumers) {
        c.get(1, TimeUnit.MINUTES); // rethrows what failed in a consumer, sampler or replayer
      }
    } finally {
      race.stop.set(true);
      for (Process p : workers) {
        p.destroy(); // SIGTERM: the worker drains, so every ack and lost lease is recorded
      }
      for (Process p : workers) {
        p.waitFor(60, TimeUnit.SECONDS);
      }
      background.shutdownNow();
      race.close();
    }

    RaceLog log = RaceLog.load(s, race.sqlSettled);
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - began);
    System.out.println(race.summary(log, seconds));

    SoftAssertions soft = new SoftAssertions();
    soft.assertThat(race.violations)
        .as("samples with two live leases on one key: %s", race.violationDetails)
        .hasValue(0);
    soft.assertThat(s.count("select count(*) from %s.message")).as("messages left").isZero();
    soft.assertThat(s.count("select count(*) from %s.message where visible_at = 'infinity'"))
        .as("parked messages stuck")
        .isZero();
    soft.assertThat(log.unhandled(race.keyOf.keySet())).as("messages never handled").isEmpty();
    soft.assertThat(log.unexplainedDuplicates())
        .as("handled twice with no lease running out")
        .isEmpty();
    soft.assertThat(log.overlapsWhileBothLive(race.keyOf))
        .as("one key's handlings overlapping while both held their lease")
        .isEmpty();
    soft.assertThat(log.orderViolations(race.keyOf, race.expected))
        .as("keys whose messages were first handled out of visibility order")
        .isEmpty();
    soft.assertThat(log.perConsumer().keySet())
        .as("consumers that handled messages")
        .containsExactlyInAnyOrder(
            "worker-batched", "worker-tx", "sql-0", "sql-1", "sql-tx-0", "sql-tx-1");
    soft.assertThat(race.rounds()).as("rounds").isGreaterThanOrEqualTo(2000);
    soft.assertThat(log.expiredHandlings()).as("handlings whose lease ran out").isPositive();
    soft.assertThat(race.parkedSeen.get()).as("parked rows seen by the sampler").isPositive();
    soft.assertAll();
  }

  /** The state of one race: its producers, consumers, sampler and replayer share it. */
  static final class Race implements AutoCloseable {
    private final Broker broker;
    private final TestSchema s;
    private final String schema;
    private final HikariDataSource side;

    final AtomicBoolean stop = new AtomicBoolean();
    final AtomicBoolean producersDone = new AtomicBoolean();

    /** Every message sent: its ordering key. */
    final Map<Long, String> keyOf = new ConcurrentHashMap<>();

    /** Per key, the order in which its messages must first be handled. */
    final Map<String, List<Long>> expected = new ConcurrentHashMap<>();

    final Set<Long> poison = ConcurrentHashMap.newKeySet();

    /** The SQL readers' settle results, by "id/lease": false when the lease was refused. */
    final Map<String, Boolean> sqlSettled = new ConcurrentHashMap<>();

    final AtomicLong lateRounds = new AtomicLong();
    final AtomicLong deadLetterRounds = new AtomicLong();
    final AtomicLong plainRounds = new AtomicLong();
    final AtomicLong hotSends = new AtomicLong();
    final AtomicLong overstays = new AtomicLong();
    final AtomicLong openTransactionReads = new AtomicLong();
    final AtomicLong replayedById = new AtomicLong();
    final AtomicLong replayedByAll = new AtomicLong();
    final AtomicLong replayedUncured = new AtomicLong();
    final AtomicLong unexpectedDeadLetters = new AtomicLong();
    final AtomicLong pauses = new AtomicLong();
    final AtomicLong samples = new AtomicLong();
    final AtomicLong violations = new AtomicLong();
    final AtomicLong parkedSeen = new AtomicLong();
    final Set<String> violationDetails = ConcurrentHashMap.newKeySet();

    Race(Broker broker, TestSchema s) {
      this.broker = broker;
      this.s = s;
      this.schema = s.name();
      this.side = TestDatabase.pool(TestDatabase.jdbcUrl(), 12);
    }

    /** The first failure of a background task; the others' waits give up on it. */
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    /** A background task of the race. */
    interface Task {
      void run() throws Exception;
    }

    Callable<Void> guard(Task task) {
      return () -> {
        try {
          task.run();
          return null;
        } catch (Throwable t) {
          failure.compareAndSet(null, t);
          throw t;
        }
      };
    }

    /** True, or throws if a background task failed. */
    boolean healthy() {
      Throwable t = failure.get();
      if (t != null) {
        throw new IllegalStateException("a race task failed", t);
      }
      return true;
    }

    long rounds() {
      return lateRounds.get() + deadLetterRounds.get() + plainRounds.get();
    }

    // ---- producers

    /**
     * Late commits. Transaction S sends message a of a new key and stays open; b of the same key (a
     * larger id) is sent and committed; once b's handling has started, S commits; sometimes c
     * follows, and sometimes m0 went before all. Visibility order, hence expected first handling
     * order: m0, b, a, c. a is visible together with c, so the lower id (a) goes first; a is never
     * visible together with b before b started, so b goes before a.
     */
    void lateCommits(int producer, int rounds) throws SQLException, InterruptedException {
      for (int i = 0; i < rounds; i++) {
        awaitBacklog();
        String key = "late-" + producer + "-" + i;
        List<Long> order = new ArrayList<>();
        if (ThreadLocalRandom.current().nextInt(4) == 0) {
          order.add(send(null, key));
        }
        try (Connection tx = side.getConnection()) {
          tx.setAutoCommit(false);
          long a = send(tx, key);
          long b = send(null, key);
          await("handling of " + b + " started")
              .atMost(Duration.ofMinutes(1))
              .pollDelay(Duration.ZERO)
              .pollInterval(Duration.ofMillis(2))
              .until(() -> healthy() && started(b));
          if (ThreadLocalRandom.current().nextInt(3) == 0) {
            // Commit later in b's handling, perhaps near the end of its lease: widens the window.
            Thread.sleep(ThreadLocalRandom.current().nextInt(200));
          }
          tx.commit();
          order.add(b);
          order.add(a);
        }
        if (ThreadLocalRandom.current().nextBoolean()) {
          order.add(send(null, key));
        }
        expected.put(key, order);
        lateRounds.incrementAndGet();
      }
    }

    /**
     * Dead letters and replays. A new key gets 2 or 3 messages in one statement, one of them
     * poison: it fails its 3 attempts, is dead-lettered (which frees its key for the next) and is
     * replayed by {@link #replayDeadLetters}, often while a newer message of its key is leased.
     * Expected first handling order: id order (the poison message's first, failing, attempt comes
     * in its place; its replay then waits for whatever of its key is leased).
     */
    void deadLetterRounds(int rounds) {
      for (int i = 0; i < rounds; i++) {
        awaitBacklog();
        String key = "dead-" + i;
        int size = 2 + ThreadLocalRandom.current().nextInt(2);
        int poisonAt = ThreadLocalRandom.current().nextInt(size - 1); // never last: a key follows
        List<Payload> payloads =
            IntStream.range(0, size).mapToObj(j -> new Payload(key, j == poisonAt)).toList();
        List<Long> ids = broker.sendBatch(QUEUE, payloads, SendOptions.none().orderingKey(key));
        ids.forEach(id -> keyOf.put(id, key));
        poison.add(ids.get(poisonAt));
        expected.put(key, ids);
        deadLetterRounds.incrementAndGet();
      }
    }

    /**
     * Many keys with few messages, in one statement or one by one; one by one they get random
     * priorities (which order keys, never messages within one) and now and then a delayed first
     * message (which holds its key until due). After each round, a message to one of a few hot keys
     * that only this thread sends to, so that their id order is their commit order. Expected first
     * handling order: id order.
     */
    void plainRounds(int rounds) {
      List<List<Long>> hot = new ArrayList<>();
      for (int h = 0; h < HOT_KEYS; h++) {
        List<Long> order = Collections.synchronizedList(new ArrayList<>());
        hot.add(order);
        expected.put("hot-" + h, order);
      }
      ThreadLocalRandom random = ThreadLocalRandom.current();
      for (int i = 0; i < rounds; i++) {
        awaitBacklog();
        String key = "plain-" + i;
        int size = 1 + random.nextInt(4);
        List<Long> ids = new ArrayList<>();
        if (random.nextBoolean()) {
          ids.addAll(
              broker.sendBatch(
                  QUEUE,
                  IntStream.range(0, size).mapToObj(j -> new Payload(key, false)).toList(),
                  SendOptions.none().orderingKey(key)));
          ids.forEach(id -> keyOf.put(id, key));
        } else {
          for (int j = 0; j < size; j++) {
            SendOptions options = SendOptions.none().orderingKey(key).priority(random.nextInt(3));
            if (j == 0 && size > 1 && random.nextInt(4) == 0) {
              options = options.delay(Duration.ofMillis(random.nextInt(10, 60)));
            }
            ids.add(send(null, key, options));
          }
        }
        expected.put(key, ids);
        int h = i % HOT_KEYS;
        hot.get(h).add(send(null, "hot-" + h, SendOptions.none().priority(random.nextInt(-1, 2))));
        hotSends.incrementAndGet();
        plainRounds.incrementAndGet();
      }
    }

    private long send(Connection tx, String key) {
      return send(tx, key, SendOptions.none());
    }

    /** Sends a message of {@code key} with {@code options} (their ordering key is set here). */
    private long send(Connection tx, String key, SendOptions options) {
      SendOptions keyed = options.orderingKey(key);
      Payload p = new Payload(key, false);
      long id = tx == null ? broker.send(QUEUE, p, keyed) : broker.send(tx, QUEUE, p, keyed);
      keyOf.put(id, key);
      return id;
    }

    private boolean started(long id) {
      return s.count(
              "select count(*) from %s.event where message_id = " + id + " and kind = 'start'")
          > 0;
    }

    private void awaitBacklog() {
      await("backlog below " + BACKLOG)
          .atMost(Duration.ofMinutes(1))
          .pollDelay(Duration.ZERO)
          .pollInterval(Duration.ofMillis(5))
          .until(() -> healthy() && s.count("select count(*) from %s.message") < BACKLOG);
    }

    // ---- dead letters

    /**
     * Replays dead letters as they come: each by id, or all at once now and then; a quarter of them
     * without curing them first (so they fail into the store again) until the producers are done.
     */
    void replayDeadLetters() throws InterruptedException {
      DeadLetterStore store = broker.deadLetters(QUEUE);
      while (!stop.get()) {
        List<DeadLetter> dead = store.list(200);
        if (dead.isEmpty()) {
          Thread.sleep(5); // poll interval: nothing to wait on but the store itself
          continue;
        }
        boolean all = ThreadLocalRandom.current().nextInt(8) == 0;
        for (DeadLetter d : dead) {
          if (!poison.contains(d.id())) {
            unexpectedDeadLetters.incrementAndGet(); // attempts used up by leases running out
          }
          boolean cure = producersDone.get() || ThreadLocalRandom.current().nextInt(4) != 0;
          if (cure) {
            s.execute("insert into %s.cured values (" + d.id() + ") on conflict do nothing");
          } else {
            replayedUncured.incrementAndGet();
          }
          if (!all && store.replay(d.id())) {
            replayedById.incrementAndGet();
          }
        }
        if (all) {
          replayedByAll.addAndGet(store.replayAll());
        }
      }
    }

    // ---- consumers

    /**
     * A consumer calling the SQL API: read up to 3 (one per key), hold each a few ms, then ack (or
     * nack a poison message), logging start and end in the same statements as the read and the
     * settle. In an open transaction the read, the handlings and the settles commit together.
     * Outside one, a first attempt is now and then held past its lease.
     */
    void sqlReader(String name, boolean openTransaction) throws Exception {
      String read =
          String.format(
              "with r as (select * from %1$s.read(?, ?, ?)),"
                  + " e as (insert into %1$s.event (kind, message_id, lease, attempt, consumer)"
                  + "   select 'start', r.id, r.lease, r.attempt, ? from r returning message_id)"
                  + " select r.id, r.lease, r.attempt,"
                  + "   coalesce((r.payload ->> 'poison')::boolean, false)"
                  + "     and not exists (select 1 from %1$s.cured c where c.id = r.id)"
                  + " from r join e on e.message_id = r.id order by r.id",
              schema);
      String settle =
          String.format(
              "with e as (insert into %1$s.event (kind, message_id, lease, attempt, consumer, ok,"
                  + "   live) select 'end', ?, ?, ?, ?, ?, exists (select 1 from %1$s.message m"
                  + "     where m.id = ? and m.lease = ? and m.visible_at > clock_timestamp())"
                  + "   returning live)"
                  + " select case when ? then %1$s.ack(?, ?, ?)"
                  + "   else %1$s.nack(?, ?, ?, error => 'poison', delay_ms => 0) end from e",
              schema);
      try (Connection c = side.getConnection();
          PreparedStatement readPs = c.prepareStatement(read);
          PreparedStatement settlePs = c.prepareStatement(settle)) {
        c.setAutoCommit(!openTransaction);
        while (!stop.get()) {
          readPs.setString(1, QUEUE); // queue
          readPs.setInt(2, 1 + ThreadLocalRandom.current().nextInt(3)); // most messages
          readPs.setLong(3, SQL_LEASE_MS); // lease, ms
          readPs.setString(4, name); // consumer
          List<Object[]> got = new ArrayList<>();
          try (ResultSet rs = readPs.executeQuery()) {
            while (rs.next()) {
              got.add(
                  new Object[] {
                    rs.getLong(1), rs.getObject(2, UUID.class), rs.getInt(3), rs.getBoolean(4)
                  });
            }
          }
          if (got.isEmpty()) {
            if (openTransaction) {
              c.commit();
            }
            Thread.sleep(2); // poll interval of an idle consumer
            continue;
          }
          if (openTransaction) {
            openTransactionReads.incrementAndGet();
          }
          for (Object[] d : got) {
            long id = (Long) d[0];
            UUID lease = (UUID) d[1];
            int attempt = (Integer) d[2];
            boolean fails = (Boolean) d[3];
            Thread.sleep(holdMs(openTransaction, attempt));
            settlePs.setLong(1, id); // message id
            settlePs.setObject(2, lease); // lease
            settlePs.setInt(3, attempt); // attempt
            settlePs.setString(4, name); // consumer
            settlePs.setBoolean(5, !fails); // handled successfully
            settlePs.setLong(6, id); // message id, for the liveness check
            settlePs.setObject(7, lease); // lease, for the liveness check
            settlePs.setBoolean(8, !fails); // ack, or nack a poison message
            for (int p = 9; p <= 14; p += 3) {
              settlePs.setString(p, QUEUE); // queue
              settlePs.setLong(p + 1, id); // message id
              settlePs.setObject(p + 2, lease); // lease
            }
            try (ResultSet rs = settlePs.executeQuery()) {
              rs.next();
              sqlSettled.put(id + "/" + lease, rs.getBoolean(1));
            }
          }
          if (openTransaction) {
            c.commit();
          }
        }
        if (openTransaction) {
          c.commit();
        }
      }
    }

    /**
     * How long an SQL reader holds a delivery. Mostly a few ms; outside a transaction, now and then
     * most of its lease (so it settles just before the lease runs out), and on a few first attempts
     * past it (only first ones, so a message is never dead-lettered for this alone). A read in an
     * open transaction keeps its key locked until it commits, so its leases cannot be taken over.
     */
    private long holdMs(boolean openTransaction, int attempt) {
      ThreadLocalRandom random = ThreadLocalRandom.current();
      if (!openTransaction && attempt == 1 && random.nextInt(40) == 0) {
        overstays.incrementAndGet();
        return SQL_LEASE_MS + random.nextInt(20, 150);
      }
      if (!openTransaction && random.nextInt(20) == 0) {
        return SQL_LEASE_MS * random.nextInt(60, 95) / 100;
      }
      return random.nextInt(OrderedWorkerProcess.MIN_HOLD_MS, OrderedWorkerProcess.MAX_HOLD_MS + 1);
    }

    /**
     * Stops each worker JVM twice for longer than its lease while the producers run: its buffered
     * and running deliveries (runs included) are redelivered elsewhere, and it finds out when it
     * resumes. The sleeps make the windows; nothing waits on them.
     */
    void pauseWorkers(List<Process> workers) throws Exception {
      long target = LATE_PRODUCERS * LATE_ROUNDS_EACH + DEAD_LETTER_ROUNDS + PLAIN_ROUNDS;
      for (int p = 1; p <= 2 * workers.size() && !stop.get(); p++) {
        long at = target * p / (2 * workers.size() + 1);
        await("round " + at)
            .atMost(Duration.ofMinutes(4))
            .pollInterval(Duration.ofMillis(20))
            .until(() -> healthy() && (rounds() >= at || stop.get()));
        if (producersDone.get() || stop.get()) {
          return;
        }
        Process w = workers.get(p % workers.size());
        signal(w, "STOP");
        try {
          Thread.sleep(WORKER_LEASE.toMillis() + 700);
        } finally {
          signal(w, "CONT");
        }
        pauses.incrementAndGet();
      }
    }

    private static void signal(Process p, String signal) throws Exception {
      Process kill =
          new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start();
      assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
      assertThat(kill.exitValue()).as("kill -%s %s", signal, p.pid()).isZero();
    }

    // ---- the sampler

    /** Looks for a key with two live leases, again and again, until the race stops. */
    void sample() throws SQLException {
      String violationSql =
          String.format(
              "select ordering_key, count(distinct lease),"
                  + " string_agg(id || ':' || lease || '@' || visible_at, ', ' order by id)"
                  + " from %s.message"
                  + " where lease is not null and visible_at > clock_timestamp()"
                  + "   and ordering_key is not null"
                  + " group by 1 having count(distinct lease) > 1",
              schema);
      String parkedSql =
          String.format("select count(*) from %s.message where visible_at = 'infinity'", schema);
      try (Connection c = side.getConnection();
          PreparedStatement violation = c.prepareStatement(violationSql);
          PreparedStatement parked = c.prepareStatement(parkedSql)) {
        while (!stop.get()) {
          boolean bad = false;
          try (ResultSet rs = violation.executeQuery()) {
            while (rs.next()) {
              bad = true;
              if (violationDetails.size() < 20) {
                violationDetails.add(
                    rs.getString(1) + " has " + rs.getLong(2) + ": " + rs.getString(3));
              }
            }
          }
          if (bad) {
            violations.incrementAndGet();
          }
          if (samples.incrementAndGet() % 10 == 0) {
            try (ResultSet rs = parked.executeQuery()) {
              rs.next();
              parkedSeen.addAndGet(rs.getLong(1));
            }
          }
        }
      }
    }

    String leftOver() {
      return "left in the queue: "
          + RaceLog.rows(s, null)
          + "; dead letters: "
          + s.count("select count(*) from %s.dead_letter");
    }

    String summary(RaceLog log, long seconds) {
      return String.format(
          "OrderingRaceTest: %d s; rounds: %d late-commit, %d dead-letter, %d plain (+%d hot-key"
              + " sends); %d messages, %s, %d overlapping handlings of one key where a lease had run"
              + " out; sampler: %d samples, %d with two live leases on a key,"
              + " %d parked rows seen; SQL readers: %d reads in open transactions, %d deliveries"
              + " held past their lease; dead letters replayed: %d by id, %d by replayAll, %d of"
              + " them uncured, %d dead letters not poison; worker pauses: %d",
          seconds,
          lateRounds.get(),
          deadLetterRounds.get(),
          plainRounds.get(),
          hotSends.get(),
          keyOf.size(),
          log.describe(),
          log.overlapsAfterExpiry(keyOf),
          samples.get(),
          violations.get(),
          parkedSeen.get(),
          openTransactionReads.get(),
          overstays.get(),
          replayedById.get(),
          replayedByAll.get(),
          replayedUncured.get(),
          unexpectedDeadLetters.get(),
          pauses.get());
    }

    @Override
    public void close() {
      side.close();
    }
  }
}
