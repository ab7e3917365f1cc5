package dev.pgbroker.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgbroker.Broker;
import dev.pgbroker.Delivery;
import dev.pgbroker.QueueOptions;
import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(BrokerExtension.class)
class TailCommandTest {
  @Test
  void everySendAndDeadLetterIsALineAndSettlesAddUp(Broker broker, TestSchema schema)
      throws Exception {
    broker.createQueue("live", QueueOptions.defaults().maxAttempts(1));
    broker.send("live", "before the tail: not shown");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    String[] args =
        new Cli(schema.name()).withDatabase("tail", "live", "--json", "--interval", "200ms");
    int[] exit = {-1};
    Thread tail =
        new Thread(
            () -> {
              try {
                exit[0] = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
              } catch (
                  Throwable t) { // shown in the failure message instead of lost with the thread
                err.write(t.toString());
              }
            });
    tail.start();
    await(
        schema,
        () ->
            schema.count("select count(*) from pg_stat_activity where query = 'listen \"%s\"'") > 0,
        err);

    List<Long> sent = new ArrayList<>();
    for (int batch = 0; batch < 3; batch++) {
      sent.addAll(broker.sendBatch("live", List.of(batch * 10 + 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)));
    }
    await(schema, () -> events(out, "sent").size() == 30, err);
    List<Delivery> got = new ArrayList<>(broker.read("live", 31));
    got.removeIf(d -> !sent.contains(d.id()));
    assertThat(got).hasSize(30);
    broker.ackAll(got.subList(0, 20));
    List<Long> nacked = new ArrayList<>();
    for (Delivery d : got.subList(20, 30)) {
      broker.nack(d, "boom " + d.id());
      nacked.add(d.id());
    }
    await(schema, () -> sum(out, "acked") == 20 && events(out, "dead_lettered").size() == 10, err);
    tail.interrupt();
    tail.join(TimeUnit.SECONDS.toMillis(10));

    assertThat(tail.isAlive()).isFalse();
    assertThat(exit[0]).as(err.toString()).isZero();
    assertThat(events(out, "sent"))
        .extracting(e -> e.get("id").asLong())
        .containsExactlyElementsOf(sent);
    assertThat(events(out, "dead_lettered"))
        .extracting(e -> e.get("id").asLong())
        .containsExactlyInAnyOrderElementsOf(nacked);
    assertThat(events(out, "dead_lettered"))
        .allSatisfy(
            e -> assertThat(e.get("error").asText()).isEqualTo("boom " + e.get("id").asLong()));
    assertThat(sum(out, "sent")).isEqualTo(30);
    assertThat(sum(out, "acked")).isEqualTo(20);
    assertThat(sum(out, "failed")).isEqualTo(10);
    assertThat(sum(out, "dead_lettered")).isEqualTo(10);
  }

  @Test
  void anUnknownQueueOrBadIntervalIsRefused(TestSchema schema) {
    Cli cli = new Cli(schema.name());
    CommandRun unknown = cli.run("tail", "nope", "--for", "1s");
    CommandRun interval = cli.run("tail", "nope", "--interval", "1ms");

    assertThat(unknown.exitCode()).isEqualTo(ExitStatus.NOT_FOUND);
    assertThat(unknown.err()).contains("unknown queue 'nope'");
    assertThat(interval.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(interval.err()).contains("--interval must be 50ms to 1m");
  }

  @Test
  void humanOutputNamesWhatHappened(Broker broker, TestSchema schema) {
    broker.createQueue("plain");
    broker.send("plain", "old");
    CommandRun run = new Cli(schema.name()).run("tail", "plain", "--for", "300ms");

    assertThat(run.exitCode()).as(run.transcript()).isZero();
    assertThat(run.out()).startsWith("following queue plain").doesNotContain("sent    id=");
  }

  private static List<JsonNode> events(StringWriter out, String type) {
    return Cli.jsonLines(completeLines(out)).stream()
        .filter(e -> e.get("event").asText().equals(type))
        .toList();
  }

  private static long sum(StringWriter out, String field) {
    return events(out, "counts").stream().mapToLong(e -> e.get(field).asLong()).sum();
  }

  // A line being written as we read is left for the next look.
  private static String completeLines(StringWriter out) {
    String text = out.toString();
    return text.substring(0, text.lastIndexOf('\n') + 1);
  }

  private static void await(
      TestSchema schema, java.util.function.BooleanSupplier done, StringWriter err)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!done.getAsBoolean()) {
      assertThat(System.nanoTime()).as("timed out; stderr: " + err).isLessThan(deadline);
      Thread.sleep(20);
    }
  }
}
