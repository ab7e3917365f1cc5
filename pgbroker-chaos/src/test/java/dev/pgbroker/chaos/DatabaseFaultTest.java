package dev.pgbroker.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgbroker.QueueOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The suite's own PostgreSQL restarted (fast and immediate) or its backends terminated while
 * producer and worker JVMs run: producers see clear errors and succeed on retry, workers and their
 * LISTEN connections come back by themselves, and the count holds.
 */
@Tag("chaos")
class DatabaseFaultTest {
  private static final int ROUNDS = 2;

  @FunctionalInterface
  interface Fault {
    void inject(ChaosRun run) throws Exception;
  }

  @Test
  void restartInFastMode() throws Exception {
    survives("restart_fast", "fast restarts", run -> run.pg.restart("fast", 1_000));
  }

  @Test
  void restartInImmediateMode() throws Exception {
    survives(
        "restart_immediate",
        "immediate restarts (crash)",
        run -> run.pg.restart("immediate", 1_000));
  }

  @Test
  void backendsTerminated() throws Exception {
    survives(
        "terminate_backends",
        "pg_terminate_backend of every worker and producer session",
        run -> {
          int n =
              run.pg.terminateBackends("chaos-worker") + run.pg.terminateBackends("chaos-producer");
          assertThat(n).as("sessions terminated").isPositive();
        });
  }

  private static void survives(String scenario, String faultName, Fault fault) throws Exception {
    QueueOptions queue =
        QueueOptions.defaults().visibilityTimeout(Duration.ofSeconds(2)).maxAttempts(25);
    try (ChaosRun run = new ChaosRun(scenario, queue)) {
      List<Process> workers = List.of(run.worker("worker-0"), run.worker("worker-1"));
      List<Process> producers =
          List.of(
              run.producer("producer-0", 0, 1_000), run.producer("producer-1", 1_000_000, 1_000));
      for (int round = 0; round < ROUNDS; round++) {
        awaitProgress(run); // the workers got going (again) before the next fault
        fault.inject(run);
      }
      awaitProgress(run); // and after the last
      run.awaitDrained(producers, Duration.ofMinutes(3));
      Tally t = run.tally().verify(run);

      for (Process w : workers) {
        assertThat(w.isAlive()).as("worker JVM still running after the faults").isTrue();
      }
      for (int i = 0; i < workers.size(); i++) {
        String log = Files.readString(run.dir.resolve("worker-" + i + ".log"));
        assertThat(log)
            .as("worker-%s's LISTEN connection came back by itself (its log in %s)", i, run.dir)
            .contains("listening for notifications again");
      }
      Set<String> states = errorStates(run.dir);
      assertThat(t.producerErrors()).as("producers met the faults").isPositive();
      assertThat(states)
          .as("producer errors are connection errors (SQLState class 08) or shutdowns (57P)")
          .allMatch(s -> s.startsWith("08") || s.startsWith("57P"));
      ChaosTable.add(
          "PostgreSQL " + faultName,
          t,
          ROUNDS + " " + faultName + "; 2 worker + 2 producer JVMs",
          run.seconds(),
          t.producerErrors()
              + " producer errors (SQLState "
              + String.join(", ", states)
              + "), each retried; "
              + t.redelivered()
              + " redelivered");
    }
  }

  private static void awaitProgress(ChaosRun run) throws Exception {
    long before = run.count("select count(*) from %s.processed");
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (run.count("select count(*) from %s.processed") < before + 200) {
      assertThat(System.nanoTime())
          .as("workers processing again within 2 minutes")
          .isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  private static Set<String> errorStates(Path dir) throws Exception {
    Set<String> states = new TreeSet<>();
    try (var files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".errors")).toList()) {
        for (String line : Files.readAllLines(f)) {
          states.add(line.substring(0, line.indexOf('\t')));
        }
      }
    }
    return states;
  }
}
