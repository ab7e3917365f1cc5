package dev.pgbroker.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The count at the end of a scenario: what producers know they committed, against what workers
 * processed (recorded in the transaction of their ack) and what the dead-letter store holds.
 */
record Tally(
    int committed,
    int processed,
    int lost,
    int duplicated,
    int deadLettered,
    int poisonCommitted,
    int phantoms,
    int redelivered,
    int producerErrors) {

  static Tally of(ChaosRun run, Set<Integer> committed, int producerErrors) throws Exception {
    Map<Integer, Integer> times = new HashMap<>();
    for (int n : run.numbers("select n from %s.processed")) {
      times.merge(n, 1, Integer::sum);
    }
    Set<Integer> dead =
        new HashSet<>(run.numbers("select (payload->>'n')::int from %s.dead_letter"));
    int lost = 0;
    int poison = 0;
    for (int n : committed) {
      if (Numbered.isPoison(n)) {
        poison++;
      }
      if (!times.containsKey(n) && !dead.contains(n)) {
        lost++;
      }
    }
    int duplicated = 0;
    int phantoms = 0;
    for (Map.Entry<Integer, Integer> e : times.entrySet()) {
      duplicated += e.getValue() - 1;
      if (!committed.contains(e.getKey())) {
        phantoms++; // processed but never committed: a rolled-back send came through
      }
    }
    for (int n : dead) {
      if (!committed.contains(n)) {
        phantoms++;
      }
    }
    int redelivered = (int) run.count("select count(*) from %s.processed where attempt > 1");
    return new Tally(
        committed.size(),
        times.size(),
        lost,
        duplicated,
        dead.size(),
        poison,
        phantoms,
        redelivered,
        producerErrors);
  }

  /** The checks every scenario makes, with the numbers in each message. */
  Tally verify(ChaosRun run) throws Exception {
    assertThat(committed).as("messages committed").isPositive();
    assertThat(lost).as("committed messages neither processed nor dead-lettered").isZero();
    assertThat(duplicated).as("processings beyond the first (transactional handlers)").isZero();
    assertThat(phantoms).as("messages of rolled-back sends that were delivered").isZero();
    assertThat(deadLettered)
        .as("dead letters = committed poison messages")
        .isEqualTo(poisonCommitted);
    List<Integer> healthyDead =
        run.numbers(
            "select (payload->>'n')::int from %s.dead_letter where not"
                + " (payload->>'poison')::boolean");
    assertThat(healthyDead).as("healthy messages in the dead-letter store").isEmpty();
    assertThat(run.count("select count(*) from %s.message"))
        .as("messages left in the queue")
        .isZero();
    return this;
  }
}
