package dev.pgbroker.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.Broker;
import dev.pgbroker.QueueOptions;
import dev.pgbroker.Worker;
import dev.pgbroker.testing.TestDatabase;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The worker's LISTEN connection goes silent (a TCP proxy stops forwarding it, no error on either
 * side): messages still arrive by polling, and the worker notices, reconnects and is woken by push
 * again.
 */
@Tag("chaos")
class ListenDropTest {
  private static final Duration POLL = Duration.ofSeconds(10);

  @Test
  void silentListenConnectionFallsBackToPollingAndPushComesBack() throws Exception {
    Map<Integer, Long> handledAt = new ConcurrentHashMap<>();
    Set<Integer> committed = new HashSet<>();
    try (ChaosRun run = new ChaosRun("listen_drop", QueueOptions.defaults());
        TcpProxy proxy = new TcpProxy(run.pg.port());
        HikariDataSource ds =
            TestDatabase.pool(
                "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/postgres?user=postgres", 8)) {
      Broker broker = Broker.create(ds).schema(run.schema).migrate(false).build();
      String insert = "insert into " + run.schema + ".processed values (?, ?, 'in-test', ?)";
      try (Worker worker =
          broker
              .worker()
              .handleInTransaction(
                  ChaosRun.QUEUE,
                  (tx, d) -> {
                    int n = d.payload(Numbered.class).n();
                    try (PreparedStatement ps = tx.prepareStatement(insert)) {
                      ps.setInt(1, n);
                      ps.setLong(2, d.id());
                      ps.setInt(3, d.attempt());
                      ps.execute();
                    }
                    handledAt.put(n, System.nanoTime());
                  })
              .pollInterval(POLL) // long, so a wake-up by push and one by polling tell apart
              .start()) {
        awaitTrue(() -> proxy.liveListeners() == 1, Duration.ofSeconds(30), "worker listening");
        int[] next = {1};
        List<Long> pushBefore = wakeUps(run, handledAt, committed, next, 3);

        assertThat(proxy.silenceListeners()).as("LISTEN connections silenced").isEqualTo(1);
        long silencedAt = System.nanoTime();
        List<Long> whileSilent = new ArrayList<>();
        while (proxy.liveListeners() == 0) {
          assertThat(System.nanoTime() - silencedAt)
              .as("the worker found its LISTEN connection dead and opened another")
              .isLessThan(Duration.ofSeconds(60).toNanos());
          whileSilent.addAll(wakeUps(run, handledAt, committed, next, 1));
        }
        double silentSeconds = (System.nanoTime() - silencedAt) / 1e9;
        List<Long> pushAfter = wakeUps(run, handledAt, committed, next, 3);

        long pollMillis = POLL.toMillis(); // a wake-up by polling waits half of it on average
        assertThat(median(pushBefore)).as("push wake-up before, ms").isLessThan(pollMillis / 3);
        assertThat(whileSilent)
            .as("messages delivered while the LISTEN connection was silent")
            .isNotEmpty();
        assertThat(median(pushAfter))
            .as("push wake-up after it came back, ms")
            .isLessThan(pollMillis / 3);
        Tally t = Tally.of(run, committed, 0).verify(run);
        ChaosTable.add(
            "LISTEN connection silently dropped",
            t,
            "1 LISTEN connection silenced (a TCP proxy stops forwarding, no error)",
            run.seconds(),
            String.format(
                "wake-up: %d ms by push before; %d ms median by polling (%d messages) while silent"
                    + " for %.1f s; %d ms by push after",
                median(pushBefore),
                median(whileSilent),
                whileSilent.size(),
                silentSeconds,
                median(pushAfter)));
      }
    }
  }

  /**
   * Sends {@code count} messages one at a time, each once the last was handled; latencies in ms.
   */
  private static List<Long> wakeUps(
      ChaosRun run, Map<Integer, Long> handledAt, Set<Integer> committed, int[] next, int count)
      throws Exception {
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int n = next[0]++;
      if (Numbered.isPoison(n) || Numbered.rollsBack(n)) {
        n = next[0]++; // this scenario sends only healthy, committed messages
      }
      int sent = n;
      long t0 = System.nanoTime();
      run.broker.send(ChaosRun.QUEUE, Numbered.of(n));
      committed.add(n);
      awaitTrue(
          () -> handledAt.containsKey(sent), POLL.multipliedBy(3), "message " + n + " handled");
      out.add((handledAt.get(n) - t0) / 1_000_000);
      Thread.sleep(100); // the worker goes idle again: the next message needs a wake-up
    }
    return out;
  }

  private static long median(List<Long> values) {
    List<Long> sorted = values.stream().sorted().toList();
    return sorted.get(sorted.size() / 2);
  }

  private static void awaitTrue(
      java.util.function.BooleanSupplier condition, Duration timeout, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("%s within %s", what, timeout).isLessThan(deadline);
      Thread.sleep(10);
    }
  }
}
