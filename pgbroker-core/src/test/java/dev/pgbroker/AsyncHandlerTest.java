package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pgbroker.testing.BrokerExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@link Worker.AsyncHandler}: settled when its stage completes, bounded by the concurrency. */
@ExtendWith(BrokerExtension.class)
class AsyncHandlerTest {
  record Step(String key, int seq) {}

  @Test
  void pendingStagesFillTheConcurrencyAndAreAckedWhenTheyComplete(Broker broker) {
    broker.createQueue("async");
    Queue<CompletableFuture<Void>> pending = new ConcurrentLinkedQueue<>();
    Map<Long, Integer> calls = new ConcurrentHashMap<>();
    try (Worker w =
        broker
            .worker()
            .handleAsync(
                "async",
                d -> {
                  calls.merge(d.id(), 1, Integer::sum);
                  CompletableFuture<Void> f = new CompletableFuture<>();
                  pending.add(f);
                  return f;
                })
            .concurrency("async", 20)
            .start()) {
      broker.sendBatch("async", IntStream.range(0, 50).boxed().toList());
      await().atMost(Duration.ofSeconds(10)).until(() -> pending.size() == 20);
      await().pollDelay(Duration.ofMillis(300)).until(() -> true);
      assertThat(pending).hasSize(20); // no 21st before one completes
      assertThat(w.inFlight()).isEqualTo(20);
      assertThat(broker.stats("async").acked()).isZero(); // nothing acked before its stage
      await()
          .atMost(Duration.ofSeconds(20))
          .until(
              () -> {
                for (CompletableFuture<Void> f; (f = pending.poll()) != null; ) {
                  f.complete(null);
                }
                return broker.stats("async").acked() == 50;
              });
    }
    assertThat(calls).hasSize(50).allSatisfy((id, n) -> assertThat(n).isEqualTo(1));
  }

  @Test
  void callsComeOneAtATimeWhileManyStagesArePending(Broker broker) throws Exception {
    broker.createQueue("lane");
    int n = 400;
    ScheduledExecutorService later = Executors.newScheduledThreadPool(2);
    AtomicInteger inCall = new AtomicInteger();
    AtomicInteger mostAtOnce = new AtomicInteger();
    try (Worker w =
        broker
            .worker()
            .handleAsync(
                "lane",
                d -> {
                  mostAtOnce.accumulateAndGet(inCall.incrementAndGet(), Math::max);
                  Thread.sleep(0, 200_000); // a call that takes a moment, as a publish does
                  inCall.decrementAndGet();
                  CompletableFuture<Void> f = new CompletableFuture<>();
                  later.schedule(() -> f.complete(null), 1, TimeUnit.MILLISECONDS);
                  return f;
                })
            .concurrency("lane", 200)
            .start()) {
      broker.sendBatch("lane", IntStream.range(0, n).boxed().toList());
      await().atMost(Duration.ofSeconds(30)).until(() -> broker.stats("lane").acked() == n);
    } finally {
      later.shutdownNow();
    }
    assertThat(mostAtOnce).hasValue(1);
  }

  @Test
  void aKeysNextMessageWaitsForThePreviousStage(Broker broker) {
    broker.createQueue("ordered");
    int keys = 5;
    int perKey = 20;
    for (int seq = 0; seq < perKey; seq++) {
      for (int k = 0; k < keys; k++) {
        broker.send("ordered", new Step("k" + k, seq), SendOptions.none().orderingKey("k" + k));
      }
    }
    ScheduledExecutorService later = Executors.newScheduledThreadPool(2);
    Map<String, List<Integer>> seen = new ConcurrentHashMap<>();
    Map<String, AtomicInteger> open = new ConcurrentHashMap<>();
    List<String> overlaps = new CopyOnWriteArrayList<>();
    try (Worker w =
        broker
            .worker()
            .handleAsync(
                "ordered",
                d -> {
                  Step s = d.payload(Step.class);
                  if (open.computeIfAbsent(s.key(), k -> new AtomicInteger()).incrementAndGet()
                      > 1) {
                    overlaps.add(s.key() + " at " + s.seq());
                  }
                  seen.computeIfAbsent(s.key(), k -> new CopyOnWriteArrayList<>()).add(s.seq());
                  CompletableFuture<Void> f = new CompletableFuture<>();
                  // Completed later, on another thread, in an order of its own across keys.
                  later.schedule(
                      () -> {
                        open.get(s.key()).decrementAndGet();
                        f.complete(null);
                      },
                      ThreadLocalRandom.current().nextInt(3),
                      TimeUnit.MILLISECONDS);
                  return f;
                })
            .concurrency("ordered", 16)
            .start()) {
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> broker.stats("ordered").acked() == keys * perKey);
    } finally {
      later.shutdownNow();
    }
    assertThat(overlaps).isEmpty();
    List<Integer> inOrder = IntStream.range(0, perKey).boxed().toList();
    assertThat(seen).hasSize(keys).allSatisfy((k, seqs) -> assertThat(seqs).isEqualTo(inOrder));
  }

  @Test
  void failedStagesAreRetriedOrDeadLettered(Broker broker) {
    broker.createQueue(
        "flaky", QueueOptions.defaults().maxAttempts(3).backoffSchedule(Duration.ofMillis(10)));
    broker.send("flaky", "fails-once");
    broker.send("flaky", "poison");
    broker.send("flaky", "returns-null");
    broker.send("flaky", "throws");
    Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
    try (Worker w =
        broker
            .worker()
            .handleAsync(
                "flaky",
                d -> {
                  String what = d.payload(String.class);
                  int n =
                      attempts.computeIfAbsent(what, k -> new AtomicInteger()).incrementAndGet();
                  return switch (what) {
                    case "fails-once" ->
                        n == 1
                            ? CompletableFuture.failedFuture(
                                new IllegalStateException("broker down"))
                            : CompletableFuture.completedFuture(null);
                    case "poison" ->
                        CompletableFuture.supplyAsync(
                            () -> {
                              throw new PoisonMessageException("refused for good");
                            });
                    case "returns-null" -> null;
                    default -> throw new IllegalArgumentException("bad payload");
                  };
                })
            .start()) {
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> broker.deadLetters("flaky").list(10).size() == 3);
      await().atMost(Duration.ofSeconds(10)).until(() -> broker.stats("flaky").acked() == 1);
    }
    assertThat(attempts.get("fails-once")).hasValue(2);
    assertThat(attempts.get("poison")).hasValue(1);
    assertThat(attempts.get("returns-null")).hasValue(3);
    assertThat(attempts.get("throws")).hasValue(3);
    List<String> errors = new ArrayList<>();
    broker.deadLetters("flaky").list(10).forEach(d -> errors.add(d.lastError()));
    assertThat(errors)
        .anySatisfy(e -> assertThat(e).contains("refused for good"))
        .anySatisfy(e -> assertThat(e).contains("returned null, not a CompletionStage"))
        .anySatisfy(e -> assertThat(e).contains("bad payload"));
  }

  @Test
  void closeWaitsForPendingStagesWithinTheDrainTimeout(Broker broker) throws Exception {
    broker.createQueue("drain");
    Queue<CompletableFuture<Void>> pending = new ConcurrentLinkedQueue<>();
    Worker w =
        broker
            .worker()
            .handleAsync(
                "drain",
                d -> {
                  CompletableFuture<Void> f = new CompletableFuture<>();
                  pending.add(f);
                  return f;
                })
            .start();
    broker.send("drain", "a");
    broker.send("drain", "b");
    await().atMost(Duration.ofSeconds(10)).until(() -> pending.size() == 2);
    CompletableFuture<Boolean> closed =
        CompletableFuture.supplyAsync(() -> w.close(Duration.ofSeconds(20)));
    await().pollDelay(Duration.ofMillis(300)).until(() -> true);
    assertThat(closed).isNotDone(); // no handler thread is busy, yet two stages are pending
    pending.forEach(f -> f.complete(null));
    assertThat(closed.get(20, TimeUnit.SECONDS)).isTrue();
    assertThat(broker.stats("drain").acked()).isEqualTo(2);

    broker.send("drain", "never");
    Worker stuck = broker.worker().handleAsync("drain", d -> new CompletableFuture<Void>()).start();
    await().atMost(Duration.ofSeconds(10)).until(() -> stuck.inFlight() == 1);
    assertThat(stuck.close(Duration.ofMillis(200))).isFalse();
    assertThat(broker.stats("drain").acked()).isEqualTo(2);
  }
}
