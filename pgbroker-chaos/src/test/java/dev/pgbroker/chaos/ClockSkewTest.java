package dev.pgbroker.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.pgbroker.QueueOptions;
import java.io.File;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Two worker JVMs, one with its clock an hour ahead and one an hour behind (libfaketime), share a
 * queue with 2 s leases; the one ahead is killed mid-run, so its leases must run out and pass to
 * the one behind, whose own clock would say they have an hour to go. Leases and due times are the
 * database's clock: nothing is taken early or held late, and the count holds.
 */
@Tag("chaos")
class ClockSkewTest {
  private static final long HOUR_MS = 3_600_000;

  @Test
  void workersWithSkewedClocksShareLeasesByTheDatabaseClock() throws Exception {
    String faketime = Faketime.command();
    QueueOptions queue =
        QueueOptions.defaults().visibilityTimeout(Duration.ofSeconds(2)).maxAttempts(25);
    try (ChaosRun run = new ChaosRun("clock_skew", queue)) {
      Process ahead = run.worker("ahead", faketime, "-f", "+1h");
      run.worker("behind", faketime, "-f", "-1h");
      List<Process> producers = List.of(run.producer("producer", 0, 1_000));
      awaitProcessedBy(run, "ahead");
      awaitProcessedBy(run, "behind");
      run.kill(ahead); // with faketime's JVM: its leases run out by the database's clock
      long before = run.count("select count(*) from %s.processed where worker = 'behind'");
      while (run.count("select count(*) from %s.processed where worker = 'behind'") < before + 20) {
        Thread.sleep(100); // the worker an hour behind goes on, and takes the dead one's leases
      }
      run.awaitDrained(producers, Duration.ofMinutes(3));
      Tally t = run.tally().verify(run);

      assertThat(skewMillis(run, "ahead"))
          .as("ahead's JVM clock minus the database's")
          .isCloseTo(HOUR_MS, within(120_000L));
      assertThat(skewMillis(run, "behind"))
          .as("behind's JVM clock minus the database's")
          .isCloseTo(-HOUR_MS, within(120_000L));
      long takenOver =
          run.count("select count(*) from %s.processed where attempt > 1 and worker = 'behind'");
      ChaosTable.add(
          "JVM clocks skewed +1 h and -1 h",
          t,
          "1 SIGKILL of the worker 1 h ahead; 2 worker JVMs (+1 h, -1 h)",
          run.seconds(),
          takenOver
              + " of the killed worker's messages taken over by the worker 1 h behind once their"
              + " 2 s leases ran out; skew measured at start: "
              + skewMillis(run, "ahead") / 1000
              + " s and "
              + skewMillis(run, "behind") / 1000
              + " s");
    }
  }

  private static void awaitProcessedBy(ChaosRun run, String worker) throws Exception {
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (run.count("select count(*) from %s.processed where worker = '" + worker + "'") < 50) {
      assertThat(System.nanoTime())
          .as("%s processing within 2 minutes; logs in %s", worker, run.dir)
          .isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  private static long skewMillis(ChaosRun run, String worker) throws Exception {
    return run.count("select jvm_ms - db_ms from %s.clocks where worker = '" + worker + "'");
  }

  /** libfaketime's command, installed from Debian when missing and we may. */
  static final class Faketime {
    private Faketime() {}

    static String command() throws Exception {
      File installed = new File("/usr/bin/faketime");
      if (!installed.canExecute() && "root".equals(System.getProperty("user.name"))) {
        ProcessBuilder apt =
            new ProcessBuilder("apt-get", "install", "-y", "-q", "faketime")
                .redirectErrorStream(true)
                .redirectOutput(
                    ProcessBuilder.Redirect.appendTo(new File("target/chaos/apt-get.log")));
        apt.environment().put("DEBIAN_FRONTEND", "noninteractive");
        apt.start().waitFor(5, TimeUnit.MINUTES);
      }
      assertThat(installed.canExecute())
          .as(
              "the clock-skew scenario needs libfaketime's faketime command: install it with"
                  + " 'apt-get install -y faketime' (Debian/Ubuntu; see target/chaos/apt-get.log)")
          .isTrue();
      return installed.getPath();
    }
  }
}
