package dev.pgbroker.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pgbroker.Broker;
import dev.pgbroker.QueueOptions;
import dev.pgbroker.QueueStats;
import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestDatabase;
import dev.pgbroker.testing.TestSchema;
import java.io.FileWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the relay promises, with each real broker: 20,000 messages over 50 ordering keys sent in
 * transactions, a third rolled back, arrive at least once each if committed and never if rolled
 * back, first in send order per key, duplicates with their original id; and the same when the relay
 * process is killed with SIGKILL and restarted, and when the broker restarts, mid-run.
 */
@ExtendWith(BrokerExtension.class)
abstract class RelayContract {
  static final int TOTAL = 20_000;
  static final int KEYS = 50;

  /** A fresh destination on the broker for {@code queue}'s messages. */
  abstract void prepare(String queue) throws Exception;

  /** Relay settings (as properties) that send {@code queue} to its destination. */
  abstract Properties properties(String queue);

  /** Everything the destination of {@code queue} holds, in arrival order per key. */
  abstract List<Outbox.Received> consumeAll(String queue, int atLeast) throws Exception;

  abstract void stopBroker() throws Exception;

  abstract void startBroker() throws Exception;

  static String queue() {
    return "relay-" + Long.toHexString(System.nanoTime());
  }

  static void createQueue(Broker broker, String queue) {
    broker.createQueue(
        queue, QueueOptions.defaults().visibilityTimeout(Duration.ofSeconds(20)).maxAttempts(1000));
  }

  @Test
  void relaysEveryCommittedMessageInKeyOrder(Broker broker, DataSource ds) throws Exception {
    String queue = queue();
    createQueue(broker, queue);
    prepare(queue);
    try (Relay relay = Relay.start(broker, RelayConfig.fromProperties(properties(queue)))) {
      Outbox outbox = Outbox.start(broker, ds, queue, TOTAL, KEYS, 4);
      outbox.awaitSent();
      awaitRelayed(broker, queue, outbox);
      RelayStats stats = relay.stats();
      assertThat(stats.confirmed()).isGreaterThanOrEqualTo(outbox.committed.size());
      assertThat(stats.deadLettered()).isZero();
      assertThat(outbox.rolledBack).hasSizeGreaterThan(TOTAL / 4);
      int duplicates = outbox.verify(consumeAll(queue, outbox.committed.size()));
      assertThat(duplicates).as("no crash, no duplicates").isZero();
    }
  }

  @Test
  void survivesSigkillOfTheRelayAndABrokerRestart(Broker broker, DataSource ds, TestSchema schema)
      throws Exception {
    String queue = queue();
    createQueue(broker, queue);
    prepare(queue);
    Path file = Files.createTempFile("relay", ".properties");
    try (Writer w = new FileWriter(file.toFile())) {
      properties(queue).store(w, null);
    }
    Process relay = RelayProcess.launch(TestDatabase.jdbcUrl(), schema.name(), file.toString());
    try {
      Outbox outbox = Outbox.start(broker, ds, queue, TOTAL, KEYS, 4);
      awaitAcked(broker, queue, TOTAL / 6);
      relay.destroyForcibly().waitFor(); // SIGKILL: confirmed publishes may not be acked yet
      relay = RelayProcess.launch(TestDatabase.jdbcUrl(), schema.name(), file.toString());
      awaitAcked(broker, queue, TOTAL / 3);
      stopBroker();
      Thread.sleep(2_000); // the relay meets the broker gone: refused connections, lost confirms
      startBroker();
      outbox.awaitSent();
      awaitRelayed(broker, queue, outbox);
      int duplicates = outbox.verify(consumeAll(queue, outbox.committed.size()));
      System.out.printf(
          "%s: %d committed, %d duplicates%n",
          getClass().getSimpleName(), outbox.committed.size(), duplicates);
    } finally {
      relay.destroyForcibly().waitFor();
      Files.deleteIfExists(file);
    }
  }

  static void awaitAcked(Broker broker, String queue, long acked) {
    await()
        .atMost(Duration.ofMinutes(2))
        .pollInterval(Duration.ofMillis(100))
        .conditionEvaluationListener(
            c -> {
              if (c.getElapsedTimeInMS() % 10_000 < 150) {
                System.out.println("waiting for " + acked + " acks: " + broker.stats(queue));
              }
            })
        .until(() -> broker.stats(queue).acked() >= acked);
  }

  /** Waits until every committed message was confirmed and acknowledged. */
  static void awaitRelayed(Broker broker, String queue, Outbox outbox) {
    await()
        .atMost(Duration.ofMinutes(3))
        .pollInterval(Duration.ofMillis(200))
        .until(
            () -> {
              QueueStats s = broker.stats(queue);
              return s.ready() + s.delayed() + s.inFlight() == 0
                  && s.dead() == 0
                  && s.acked() >= outbox.committed.size();
            });
  }
}
