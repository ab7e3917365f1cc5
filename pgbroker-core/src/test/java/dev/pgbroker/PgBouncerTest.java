package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestDatabase;
import dev.pgbroker.testing.TestSchema;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * pgbroker behind a real PgBouncer in transaction mode, with more client connections than server
 * connections so consecutive transactions of one client land on different sessions. The schema is
 * migrated directly (as the guide says to); everything else goes through PgBouncer.
 */
@ExtendWith(BrokerExtension.class)
class PgBouncerTest {
  private static PgBouncer bouncer;
  private HikariDataSource pooled;
  private Broker broker;

  @BeforeAll
  static void startPgBouncer() throws Exception {
    bouncer = PgBouncer.start();
  }

  @AfterAll
  static void stopPgBouncer() {
    if (bouncer != null) {
      bouncer.close();
    }
  }

  @BeforeEach
  void brokerThroughPgBouncer(TestSchema schema) {
    pooled = TestDatabase.pool(bouncer.jdbcUrl(), 4 * PgBouncer.SERVER_CONNECTIONS);
    broker = Broker.create(pooled).schema(schema.name()).migrate(false).build();
  }

  @AfterEach
  void close() {
    broker.close();
    pooled.close();
  }

  @Test
  void sendReadAndAckFromJavaAndSqlThroughPgBouncer() throws Exception {
    broker.createQueue("jobs");
    List<Long> sent = new ArrayList<>(broker.sendBatch("jobs", range(0, 300)));
    for (int i = 300; i < 350; i++) {
      sent.add(broker.send("jobs", i));
    }
    try (Connection tx = pooled.getConnection()) {
      tx.setAutoCommit(false);
      broker.send(tx, "jobs", "rolled back", SendOptions.none());
      tx.rollback();
      sent.add(broker.send(tx, "jobs", 350, SendOptions.none()));
      tx.commit();
    }
    try (Connection c = pooled.getConnection();
        PreparedStatement ps =
            c.prepareStatement("select " + broker.schema() + ".send('jobs', to_jsonb(?::int))")) {
      for (int i = 351; i < 400; i++) {
        ps.setInt(1, i);
        sent.add(single(ps));
      }
    }

    Map<Long, Integer> handled = new ConcurrentHashMap<>();
    // Half read and acked from Java, half through the SQL functions, all through PgBouncer.
    for (List<Delivery> got; !(got = broker.read("jobs", 25)).isEmpty(); ) {
      assertThat(broker.ackAll(got)).isEmpty();
      got.forEach(d -> handled.merge(d.id(), 1, Integer::sum));
      if (handled.size() >= 200) {
        break;
      }
    }
    try (Connection c = pooled.getConnection();
        PreparedStatement read =
            c.prepareStatement("select id, lease from " + broker.schema() + ".read('jobs', 10)");
        PreparedStatement ack =
            c.prepareStatement("select " + broker.schema() + ".ack('jobs', ?, ?::uuid)")) {
      while (true) {
        List<Object[]> leased = new ArrayList<>();
        try (ResultSet rs = read.executeQuery()) {
          while (rs.next()) {
            leased.add(new Object[] {rs.getLong(1), rs.getString(2)});
          }
        }
        if (leased.isEmpty()) {
          break;
        }
        for (Object[] l : leased) {
          ack.setLong(1, (Long) l[0]);
          ack.setString(2, (String) l[1]);
          try (ResultSet rs = ack.executeQuery()) {
            rs.next();
            assertThat(rs.getBoolean(1)).isTrue();
          }
          handled.merge((Long) l[0], 1, Integer::sum);
        }
      }
    }

    assertThat(sent).hasSize(400).doesNotHaveDuplicates();
    assertThat(handled.keySet()).containsExactlyInAnyOrderElementsOf(sent);
    assertThat(handled.values()).allMatch(n -> n == 1);
    assertThat(broker.stats("jobs").acked()).isEqualTo(400);
  }

  @Test
  void aPollOnlyWorkerHandlesEveryMessageOnceThroughPgBouncer() {
    broker.createQueue("plain");
    broker.createQueue("booked");
    int n = 1_000;
    Map<Integer, Integer> plain = new ConcurrentHashMap<>();
    Map<Integer, Integer> booked = new ConcurrentHashMap<>();
    AtomicInteger failedOnce = new AtomicInteger();
    for (int i = 0; i < n; i += 250) {
      broker.sendBatch("plain", range(i, i + 250));
      broker.sendBatch("booked", range(i, i + 250));
    }
    try (Worker w =
        broker
            .worker()
            .listenNotify(false)
            .pollInterval(Duration.ofMillis(100))
            .handle(
                "plain",
                d -> {
                  int i = d.payload(Integer.class);
                  // Every 50th fails once: its retry goes through PgBouncer too.
                  if (i % 50 == 0 && d.attempt() == 1) {
                    failedOnce.incrementAndGet();
                    throw new RetryLaterException(Duration.ZERO, "first try of " + i);
                  }
                  plain.merge(i, 1, Integer::sum);
                })
            .handleInTransaction(
                "booked",
                (tx, d) -> {
                  try (PreparedStatement ps = tx.prepareStatement("select 1")) {
                    ps.execute(); // a write of the handler's own would go here
                  }
                  booked.merge(d.payload(Integer.class), 1, Integer::sum);
                })
            .start()) {
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> plain.size() == n && booked.size() == n && w.inFlight() == 0);
    }
    assertThat(plain.values()).allMatch(c -> c == 1);
    assertThat(booked.values()).allMatch(c -> c == 1);
    assertThat(failedOnce.get()).isEqualTo(n / 50);
    QueueStats s = broker.stats("plain");
    assertThat(s.ready() + s.delayed() + s.inFlight() + s.dead()).isZero();
  }

  @Test
  void aWorkerListeningDirectlyIsWokenAtOnceWhileEverythingElseGoesThroughPgBouncer()
      throws Exception {
    broker.createQueue("pushed");
    int n = 20;
    CountDownLatch handled = new CountDownLatch(n);
    List<Long> latencies = new ArrayList<>();
    Map<Integer, Long> sentAt = new ConcurrentHashMap<>();
    try (HikariDataSource direct = TestDatabase.pool(TestDatabase.jdbcUrl(), 1);
        Worker w =
            broker
                .worker()
                .listenDataSource(direct)
                .pollInterval(Duration.ofMinutes(5)) // a wake-up can only come from NOTIFY
                .handle(
                    "pushed",
                    d -> {
                      long at = sentAt.get(d.payload(Integer.class));
                      synchronized (latencies) {
                        latencies.add(System.nanoTime() - at);
                      }
                      handled.countDown();
                    })
                .start()) {
      Thread.sleep(500); // past the worker's first fetch: it now waits for a notification
      for (int i = 0; i < n; i++) {
        sentAt.put(i, System.nanoTime());
        broker.send("pushed", i);
        Thread.sleep(50);
      }
      assertThat(handled.await(30, TimeUnit.SECONDS))
          .as("every message handled long before the 5 minute poll")
          .isTrue();
    }
    assertThat(latencies).hasSize(n).allMatch(ns -> ns < Duration.ofSeconds(5).toNanos());
    List<Long> ms = latencies.stream().map(ns -> ns / 1_000_000).sorted().toList();
    System.out.printf(
        "PgBouncer, LISTEN direct: send-to-handler latency median %d ms, max %d ms over %d%n",
        ms.get(n / 2), ms.get(n - 1), n);
  }

  private static List<Integer> range(int from, int to) {
    return IntStream.range(from, to).boxed().toList();
  }

  private static long single(PreparedStatement ps) throws Exception {
    try (ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
