package dev.pgbroker.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgbroker.Broker;
import dev.pgbroker.DeadLetter;
import dev.pgbroker.Delivery;
import dev.pgbroker.QueueOptions;
import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Ten dead letters with three kinds of error; each command must move exactly its own. */
@ExtendWith(BrokerExtension.class)
class DlqCommandTest {
  private static final String TIMEOUT = "timeout talking to \"bank\"";
  private static final String DECLINED = "card declined";
  private static final String PARSE = "cannot parse amount";

  private final Map<String, List<Long>> idsByError = new java.util.HashMap<>();
  private Cli cli;

  @BeforeEach
  void tenDeadLetters(Broker broker, TestSchema schema) {
    cli = new Cli(schema.name());
    broker.createQueue("pay", QueueOptions.defaults().maxAttempts(1));
    for (int i = 0; i < 10; i++) {
      broker.send("pay", Map.of("n", i));
    }
    List<Delivery> all = broker.read("pay", 10);
    assertThat(all).hasSize(10);
    for (int i = 0; i < 10; i++) {
      String error = i < 4 ? TIMEOUT : i < 7 ? DECLINED : PARSE;
      broker.nack(all.get(i), error);
      idsByError.computeIfAbsent(error, e -> new ArrayList<>()).add(all.get(i).id());
    }
    assertThat(broker.stats("pay").dead()).isEqualTo(10);
  }

  @Test
  void listAndShowGiveEveryErrorOfEveryAttempt() {
    CommandRun list = cli.run("dlq", "list", "pay", "--json");
    CommandRun table = cli.run("dlq", "list", "pay", "--limit", "3");
    long id = idsByError.get(TIMEOUT).get(0);
    CommandRun show = cli.run("dlq", "show", "pay", String.valueOf(id));
    CommandRun showJson = cli.run("dlq", "show", "pay", String.valueOf(id), "--json");
    CommandRun missing = cli.run("dlq", "show", "pay", "999999");

    assertThat(list.exitCode()).as(list.transcript()).isZero();
    List<JsonNode> rows = Cli.jsonLines(list.out());
    assertThat(rows).hasSize(10);
    assertThat(rows.stream().filter(r -> r.get("last_error").asText().equals(DECLINED))).hasSize(3);
    assertThat(table.out().lines().skip(1)).hasSize(3);
    assertThat(show.out()).contains("attempt 1 at ").contains(TIMEOUT).contains("\"n\"");
    JsonNode one = Cli.json(showJson.out());
    assertThat(one.get("errors").get(0).get("error").asText()).isEqualTo(TIMEOUT);
    assertThat(one.get("payload").has("n")).isTrue();
    assertThat(missing.exitCode()).isEqualTo(ExitStatus.NOT_FOUND);
    assertThat(missing.err()).contains("no dead letter 999999 in queue pay");
  }

  @Test
  void replayByErrorTextMovesExactlyTheMatchingOnes(Broker broker) {
    // Matched against each error's text, not the errors' JSON, where every entry has "attempt".
    CommandRun none = cli.run("dlq", "replay", "pay", "--error", "attempt", "--json");
    assertThat(Cli.json(none.out()).get("replayed").asInt()).isZero();

    CommandRun run = cli.run("dlq", "replay", "pay", "--error", "\"bank\"", "--json");

    assertThat(run.exitCode()).as(run.transcript()).isZero();
    assertThat(Cli.json(run.out()).get("replayed").asInt()).isEqualTo(4);
    assertThat(deadIds(broker)).doesNotContainAnyElementsOf(idsByError.get(TIMEOUT)).hasSize(6);
    assertThat(broker.read("pay", 10))
        .extracting(Delivery::id)
        .containsExactlyInAnyOrderElementsOf(idsByError.get(TIMEOUT));
  }

  @Test
  void replayByIdIsAllOrNothing(Broker broker) {
    List<Long> declined = idsByError.get(DECLINED);
    String two = declined.get(0) + "," + declined.get(1);

    CommandRun withMissing = cli.run("dlq", "replay", "pay", "--id", two, "--id", "999999");
    assertThat(withMissing.exitCode()).isEqualTo(ExitStatus.NOT_FOUND);
    assertThat(withMissing.err()).contains("[999999]").contains("nothing changed");
    assertThat(deadIds(broker)).hasSize(10);

    CommandRun ok = cli.run("dlq", "replay", "pay", "--id", two);
    assertThat(ok.exitCode()).as(ok.transcript()).isZero();
    assertThat(ok.out()).contains("replayed 2 dead letters of queue pay");
    assertThat(deadIds(broker)).hasSize(8).doesNotContain(declined.get(0), declined.get(1));
    assertThat(broker.stats("pay").ready()).isEqualTo(2);
  }

  @Test
  void purgeNeedsYesAndTakesExactlyItsSelection(Broker broker) {
    CommandRun unconfirmed = cli.run("dlq", "purge", "pay", "--all");
    assertThat(unconfirmed.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(unconfirmed.err()).contains("--yes");
    assertThat(deadIds(broker)).hasSize(10);

    CommandRun byError = cli.run("dlq", "purge", "pay", "--error", "parse", "--yes");
    assertThat(byError.out()).contains("purged 3 dead letters");
    assertThat(deadIds(broker)).hasSize(7).doesNotContainAnyElementsOf(idsByError.get(PARSE));

    long one = idsByError.get(TIMEOUT).get(0);
    assertThat(cli.run("dlq", "purge", "pay", "--id", String.valueOf(one), "--yes").out())
        .contains("purged 1 dead letter of queue pay");

    CommandRun rest = cli.run("dlq", "replay", "pay", "--all", "--json");
    assertThat(Cli.json(rest.out()).get("replayed").asInt()).isEqualTo(6);
    assertThat(deadIds(broker)).isEmpty();
    assertThat(broker.stats("pay").ready()).isEqualTo(6);
  }

  @Test
  void aSelectionIsRequiredAndExclusive(Broker broker) {
    CommandRun none = cli.run("dlq", "replay", "pay");
    CommandRun two = cli.run("dlq", "replay", "pay", "--all", "--error", "x");
    CommandRun unknown = cli.run("dlq", "replay", "nope", "--all");

    assertThat(none.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(none.err()).contains("--id").contains("--error").contains("--all");
    assertThat(two.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(two.err()).contains("mutually exclusive");
    assertThat(unknown.exitCode()).isEqualTo(ExitStatus.NOT_FOUND);
    assertThat(deadIds(broker)).hasSize(10);
  }

  private static List<Long> deadIds(Broker broker) {
    return broker.deadLetters("pay").list(100).stream()
        .map(DeadLetter::id)
        .collect(Collectors.toList());
  }
}
