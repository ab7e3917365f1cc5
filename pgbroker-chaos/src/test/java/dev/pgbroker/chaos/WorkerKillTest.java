package dev.pgbroker.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgbroker.QueueOptions;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Worker JVMs SIGKILLed at random moments while producer JVMs keep sending; counted. */
@Tag("chaos")
class WorkerKillTest {
  private static final int KILLS = 24;
  private static final int WORKERS = 3;

  private static void awaitProcessed(ChaosRun run, long n) throws Exception {
    long deadline = System.nanoTime() + 120_000_000_000L;
    while (run.count("select count(*) from %s.processed") < n) {
      assertThat(System.nanoTime())
          .as("%s processed within 2 minutes; logs in %s", n, run.dir)
          .isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  @Test
  void workersKilledAtRandomLoseNothingAndProcessNothingTwice() throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    QueueOptions queue =
        QueueOptions.defaults()
            .visibilityTimeout(Duration.ofSeconds(2))
            .maxAttempts(25); // kills cost attempts; only poison may reach the dead letters
    try (ChaosRun run = new ChaosRun("worker_kills", queue)) {
      Process[] workers = new Process[WORKERS];
      for (int i = 0; i < WORKERS; i++) {
        workers[i] = run.worker("worker-" + i + "-0");
      }
      List<Process> producers =
          List.of(
              run.producer("producer-0", 0, 1_000), run.producer("producer-1", 1_000_000, 1_000));
      awaitProcessed(run, 100); // producers and workers are going before the first kill
      long[] startedAt = new long[WORKERS];
      java.util.Arrays.fill(startedAt, System.nanoTime());
      int kills = 0;
      int killsWhileSending = 0;
      while (kills < KILLS) {
        Thread.sleep(500 + random.nextInt(1_500)); // a random moment
        int i = random.nextInt(WORKERS);
        while (System.nanoTime() - startedAt[i] < 2_000_000_000L) {
          i = (i + 1) % WORKERS; // a JVM still starting up has nothing in flight to lose
          Thread.sleep(50);
        }
        workers[i].destroyForcibly(); // SIGKILL: no drain, no acks, leases left to run out
        assertThat(workers[i].waitFor(30, TimeUnit.SECONDS)).as("killed worker exited").isTrue();
        kills++;
        if (producers.stream().allMatch(Process::isAlive)) {
          killsWhileSending++;
        }
        workers[i] = run.worker("worker-" + i + "-" + kills);
        startedAt[i] = System.nanoTime();
      }
      run.awaitDrained(producers, Duration.ofMinutes(4));
      Tally t = run.tally().verify(run);

      assertThat(killsWhileSending)
          .as("kills while producers were sending (seed %s)", seed)
          .isGreaterThanOrEqualTo(20);
      assertThat(t.redelivered())
          .as("messages a killed worker held, handled again by another")
          .isPositive();
      ChaosTable.add(
          "worker SIGKILLs",
          t,
          kills
              + " SIGKILLs of "
              + WORKERS
              + " worker JVMs ("
              + killsWhileSending
              + " while 2 producer JVMs sent)",
          run.seconds(),
          t.redelivered() + " redelivered after a kill; seed " + seed);
    }
  }
}
