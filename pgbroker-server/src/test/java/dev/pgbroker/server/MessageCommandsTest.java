package dev.pgbroker.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgbroker.Broker;
import dev.pgbroker.QueueOptions;
import dev.pgbroker.QueuedMessage;
import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** send, receive, ack and nack, as a shell script would chain them. */
@ExtendWith(BrokerExtension.class)
class MessageCommandsTest {
  @Test
  void sendStoresThePayloadWithEveryOption(Broker broker, TestSchema schema) {
    broker.createQueue("orders");
    Cli cli = new Cli(schema.name());

    CommandRun run =
        cli.run(
            "send",
            "orders",
            "{\"order\": 42}",
            "--priority",
            "7",
            "--ordering-key",
            "acct-1",
            "-H",
            "tenant=acme",
            "--delay",
            "1h",
            "--max-attempts",
            "9",
            "--backoff",
            "5s,1m");

    assertThat(run.exitCode()).as(run.transcript()).isZero();
    long id = Long.parseLong(run.out().strip());
    QueuedMessage m = broker.messages("orders").find(id).orElseThrow();
    assertThat(Cli.json(m.payloadJson()).get("order").asInt()).isEqualTo(42);
    assertThat(m.priority()).isEqualTo(7);
    assertThat(m.orderingKey()).isEqualTo("acct-1");
    assertThat(m.headers()).containsEntry("tenant", "acme");
    assertThat(broker.stats("orders").delayed()).isEqualTo(1);
  }

  @Test
  void aBatchIsAllOrNothing(Broker broker, TestSchema schema, @TempDir Path dir) throws Exception {
    broker.createQueue("batch");
    Cli cli = new Cli(schema.name());
    Path good = dir.resolve("good.jsonl");
    Files.writeString(
        good,
        IntStream.range(0, 100)
            .mapToObj(i -> "{\"n\": " + i + "}\n")
            .collect(Collectors.joining()));
    Path bad = dir.resolve("bad.jsonl");
    Files.writeString(bad, "{\"n\": 1}\n{\"n\": 2}\n{not json}\n");

    CommandRun refused = cli.run("send", "batch", "--batch", "--file", bad.toString());
    assertThat(refused.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(refused.err()).contains("line 3: payload is not valid JSON");
    assertThat(broker.stats("batch").sent()).isZero();

    CommandRun sent = cli.run("send", "batch", "--batch", "--file", good.toString(), "--json");
    assertThat(sent.exitCode()).as(sent.transcript()).isZero();
    JsonNode ids = Cli.json(sent.out()).get("ids");
    Set<Long> distinct = new HashSet<>();
    ids.forEach(i -> distinct.add(i.asLong()));
    assertThat(distinct).hasSize(100);
    assertThat(broker.stats("batch").ready()).isEqualTo(100);
  }

  @Test
  void receivedMessagesAreAckedAndNackedByTheirLease(Broker broker, TestSchema schema) {
    broker.createQueue("work", QueueOptions.defaults().backoffSchedule(Duration.ofHours(1)));
    for (int i = 0; i < 10; i++) {
      broker.send("work", i);
    }
    Cli cli = new Cli(schema.name());

    List<JsonNode> got = Cli.jsonLines(cli.run("receive", "work", "--max", "10", "--json").out());
    assertThat(got).hasSize(10);
    assertThat(got.stream().map(g -> g.get("id").asLong()).distinct()).hasSize(10);
    for (int i = 0; i < 10; i++) {
      JsonNode d = got.get(i);
      String[] settle = {
        i < 7 ? "ack" : "nack", "work", d.get("id").asText(), d.get("lease").asText()
      };
      CommandRun run = i < 7 ? cli.run(settle) : cli.run(append(settle, "--error", "bank down"));
      assertThat(run.exitCode()).as(run.transcript()).isZero();
    }

    var stats = broker.stats("work");
    assertThat(stats.acked()).isEqualTo(7);
    assertThat(stats.failed()).isEqualTo(3);
    assertThat(stats.delayed()).isEqualTo(3);
    assertThat(stats.inFlight()).isZero();
    assertThat(broker.messages("work").list(10))
        .allSatisfy(
            m -> assertThat(m.errors()).extracting(e -> e.error()).containsExactly("bank down"));
  }

  @Test
  void aStaleLeaseIsExitCodeFourAndSettlesNothing(Broker broker, TestSchema schema)
      throws Exception {
    broker.createQueue("slow");
    long id = broker.send("slow", "x");
    Cli cli = new Cli(schema.name());
    JsonNode first =
        Cli.json(cli.run("receive", "slow", "--visibility-timeout", "1ms", "--json").out());
    JsonNode second = null;
    for (int i = 0;
        i < 50 && second == null;
        i++) { // the 1 ms lease runs out on the database clock
      String out = cli.run("receive", "slow", "--json").out();
      second = out.isBlank() ? null : Cli.json(out);
    }
    assertThat(second).isNotNull();

    CommandRun stale = cli.run("ack", "slow", String.valueOf(id), first.get("lease").asText());
    assertThat(stale.exitCode()).isEqualTo(ExitStatus.STALE_LEASE);
    assertThat(stale.err()).contains("is stale");
    assertThat(broker.stats("slow").inFlight()).isEqualTo(1);

    CommandRun fresh = cli.run("ack", "slow", String.valueOf(id), second.get("lease").asText());
    assertThat(fresh.exitCode()).as(fresh.transcript()).isZero();
    assertThat(broker.stats("slow").acked()).isEqualTo(1);
  }

  @Test
  void badInputIsRefusedWithTheReason(Broker broker, TestSchema schema) {
    broker.createQueue("q");
    Cli cli = new Cli(schema.name());

    CommandRun notJson = cli.run("send", "q", "{oops");
    CommandRun noPayload = cli.run("send", "q");
    CommandRun badLease = cli.run("ack", "q", "1", "not-a-lease");
    CommandRun unknownQueue = cli.run("ack", "nope", "1", "6c1d0b3e-4a8f-4e0b-9a43-0f2f6f5b8a11");
    CommandRun tooMany = cli.run("receive", "q", "--max", "0");
    CommandRun priority = cli.run("send", "q", "1", "--priority", "2000000");

    assertThat(notJson.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(notJson.err()).contains("payload is not valid JSON");
    assertThat(noPayload.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(noPayload.err()).contains("give the payload as an argument or with --file");
    assertThat(badLease.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(badLease.err()).contains("<lease> must be a lease token");
    assertThat(unknownQueue.exitCode()).isEqualTo(ExitStatus.NOT_FOUND);
    assertThat(unknownQueue.err()).contains("unknown queue 'nope'");
    assertThat(tooMany.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(priority.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(priority.err()).contains("--priority: priority must be between");
    assertThat(broker.stats("q").sent()).isZero();
  }

  @Test
  void receiveWaitIsWokenBySendNotByItsPoll(Broker broker, TestSchema schema) throws Exception {
    broker.createQueue("idle");
    Cli cli = new Cli(schema.name());
    assertThat(cli.run("receive", "idle").out()).as("an empty queue prints nothing").isEmpty();

    CompletableFuture<CommandRun> waiting =
        CompletableFuture.supplyAsync(() -> cli.run("receive", "idle", "--wait", "20s", "--json"));
    // Its first poll is 1 s after it starts listening: a send just after that is woken sooner.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (schema.count("select count(*) from pg_stat_activity where query = 'listen \"%s\"'")
        == 0) {
      assertThat(System.nanoTime()).as("receive --wait never listened").isLessThan(deadline);
      Thread.sleep(5);
    }
    long sentAt = System.nanoTime();
    broker.send("idle", "wake up");
    CommandRun run = waiting.get(20, TimeUnit.SECONDS);
    long latencyMs = (System.nanoTime() - sentAt) / 1_000_000;

    assertThat(run.exitCode()).as(run.transcript()).isZero();
    assertThat(Cli.jsonLines(run.out())).hasSize(1);
    assertThat(latencyMs).as("woken by NOTIFY, well before its 1 s poll").isLessThan(800);
  }

  private static String[] append(String[] a, String... more) {
    String[] all = java.util.Arrays.copyOf(a, a.length + more.length);
    System.arraycopy(more, 0, all, a.length, more.length);
    return all;
  }
}
