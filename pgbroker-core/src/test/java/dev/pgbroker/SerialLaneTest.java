package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** {@link SerialLane}: every task runs, one at a time, in each giver's order, on few threads. */
class SerialLaneTest {
  @Test
  void tasksFromManyThreadsRunOneAtATimeInOrderAndNoneIsLeftBehind() throws Exception {
    ExecutorService pool = Executors.newCachedThreadPool();
    SerialLane lane = new SerialLane(pool);
    int givers = 4;
    int each = 50_000;
    AtomicBoolean busy = new AtomicBoolean();
    AtomicInteger overlaps = new AtomicInteger();
    AtomicInteger outOfOrder = new AtomicInteger();
    int[] lastSeen = new int[givers];
    Arrays.fill(lastSeen, -1);
    CountDownLatch ran = new CountDownLatch(givers * each);
    ConcurrentHashMap<String, Boolean> threads = new ConcurrentHashMap<>();
    List<Thread> giving = new ArrayList<>();
    for (int g = 0; g < givers; g++) {
      int giver = g;
      giving.add(
          new Thread(
              () -> {
                for (int i = 0; i < each; i++) {
                  int seq = i;
                  lane.execute(
                      () -> {
                        if (!busy.compareAndSet(false, true)) {
                          overlaps.incrementAndGet();
                        }
                        threads.put(Thread.currentThread().getName(), true);
                        if (lastSeen[giver] != seq - 1) { // one task at a time, so no other writer
                          outOfOrder.incrementAndGet();
                        }
                        lastSeen[giver] = seq;
                        busy.set(false);
                        ran.countDown();
                      });
                }
              }));
    }
    giving.forEach(Thread::start);
    for (Thread t : giving) {
      t.join();
    }
    assertThat(ran.await(30, TimeUnit.SECONDS)).as("every task ran").isTrue();
    assertThat(overlaps).hasValue(0);
    assertThat(outOfOrder).hasValue(0);
    assertThat(threads.keySet()).allMatch(name -> name.startsWith("pool-"));
    pool.shutdown();
  }

  @Test
  void aTaskThatThrowsDoesNotStopTheTasksBehindIt() throws Exception {
    ExecutorService pool = Executors.newCachedThreadPool();
    SerialLane lane = new SerialLane(pool);
    CountDownLatch gate = new CountDownLatch(1);
    CountDownLatch after = new CountDownLatch(1);
    lane.execute(
        () -> {
          try {
            gate.await(); // holds the lane so the next two queue up behind it
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    lane.execute(
        () -> {
          throw new IllegalStateException("a continuation that failed");
        });
    lane.execute(after::countDown);
    gate.countDown();
    assertThat(after.await(10, TimeUnit.SECONDS))
        .as("the task after the throwing one ran")
        .isTrue();
    pool.shutdown();
  }

  @Test
  void onceThePoolTakesNoTasksTheyRunOnTheGiversThread() {
    ExecutorService pool = Executors.newCachedThreadPool();
    pool.shutdown();
    SerialLane lane = new SerialLane(pool);
    List<String> ranOn = new ArrayList<>();
    lane.execute(() -> ranOn.add(Thread.currentThread().getName()));
    lane.execute(() -> ranOn.add(Thread.currentThread().getName()));
    assertThat(ranOn)
        .containsExactly(Thread.currentThread().getName(), Thread.currentThread().getName());
  }
}
