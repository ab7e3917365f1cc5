package dev.pgbroker.testing;

import dev.pgbroker.Broker;
import dev.pgbroker.QueueStats;
import dev.pgbroker.Worker;
import java.time.Duration;

/**
 * For users' own tests: starts a worker, waits until its queues hold nothing ready, delayed or in
 * flight, then closes it (draining running handlers and acks).
 *
 * <pre>{@code
 * broker.send("emails", new Email("ada@example.com"));
 * RunUntilIdle.run(broker, broker.worker().handle("emails", Email.class, mailer::send),
 *     Duration.ofSeconds(10), "emails");
 * assertThat(mailer.sent()).hasSize(1);
 * }</pre>
 */
public final class RunUntilIdle {
  private RunUntilIdle() {}

  /** Throws {@link AssertionError} naming what is left if the queues are not idle in time. */
  public static void run(Broker broker, Worker.Builder worker, Duration timeout, String... queues) {
    long deadline = System.nanoTime() + timeout.toNanos();
    try (Worker w = worker.start()) {
      while (true) {
        String busy = busy(broker, queues);
        if (busy == null) {
          return;
        }
        if (System.nanoTime() > deadline) {
          throw new AssertionError("not idle after " + timeout + ": " + busy);
        }
        try {
          Thread.sleep(10); // polling stats; a test helper, not a synchronisation primitive
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AssertionError("interrupted while waiting for idle queues", e);
        }
      }
    }
  }

  private static String busy(Broker broker, String... queues) {
    for (String q : queues) {
      QueueStats s = broker.stats(q);
      if (s.ready() + s.delayed() + s.inFlight() > 0) {
        return s.toString();
      }
    }
    return null;
  }
}
