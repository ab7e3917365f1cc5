package dev.pgbroker.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgbroker.Broker;
import dev.pgbroker.QueueOptions;
import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestDatabase;
import dev.pgbroker.testing.TestSchema;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(BrokerExtension.class)
class QueueCommandTest {
  @Test
  void createSetsTheOptionsGivenAndAnUpdateKeepsTheRest(Broker broker, TestSchema schema) {
    Cli cli = new Cli(schema.name());

    CommandRun created =
        cli.run(
            "queue",
            "create",
            "emails",
            "--visibility-timeout",
            "45s",
            "--max-attempts",
            "7",
            "--backoff",
            "1s,10s,1m",
            "--retention",
            "1h",
            "--dead-letter",
            "false");
    CommandRun updated = cli.run("queue", "create", "emails", "--max-attempts", "3", "--json");

    assertThat(created.exitCode()).as(created.transcript()).isZero();
    assertThat(created.out())
        .startsWith("created queue emails: visibility timeout 45s, max attempts 7");
    assertThat(updated.exitCode()).as(updated.transcript()).isZero();
    JsonNode json = Cli.json(updated.out());
    assertThat(json.get("created").asBoolean()).isFalse();
    assertThat(json.get("max_attempts").asInt()).isEqualTo(3);
    QueueOptions now = broker.queueOptions("emails");
    assertThat(now.maxAttempts()).isEqualTo(3);
    assertThat(now.visibilityTimeout()).isEqualTo(Duration.ofSeconds(45));
    assertThat(now.backoffSchedule())
        .containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofMinutes(1));
    assertThat(now.retention()).isEqualTo(Duration.ofHours(1));
    assertThat(now.deadLetter()).isFalse();
  }

  @Test
  void aBadSettingIsRefusedNamingTheOptionAndCreatesNothing(Broker broker, TestSchema schema) {
    Cli cli = new Cli(schema.name());

    CommandRun zero = cli.run("queue", "create", "q1", "--max-attempts", "0");
    CommandRun notDuration = cli.run("queue", "create", "q1", "--visibility-timeout", "soon");
    CommandRun badName = cli.run("queue", "create", "Bad Name");
    CommandRun halfBackoff = cli.run("queue", "create", "q1", "--backoff-base", "1s");

    assertThat(zero.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(zero.err()).contains("--max-attempts").contains("was 0");
    assertThat(notDuration.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(notDuration.err()).contains("'soon' is not a duration").contains("30s");
    assertThat(badName.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(badName.err()).contains("'Bad Name'").doesNotContain("\tat ");
    assertThat(halfBackoff.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(halfBackoff.err()).contains("--backoff-base and --backoff-max go together");
    assertThat(broker.queues()).isEmpty();
  }

  @Test
  void listAndStatsCountMessagesByState(Broker broker, TestSchema schema) {
    broker.createQueue("a");
    broker.createQueue("b");
    for (int i = 0; i < 5; i++) {
      broker.send("a", i);
    }
    broker.read("a", 2);
    Cli cli = new Cli(schema.name());

    CommandRun list = cli.run("queue", "list", "--json");
    CommandRun table = cli.run("queue", "list");
    CommandRun stats = cli.run("queue", "stats", "a", "--json");

    assertThat(list.exitCode()).as(list.transcript()).isZero();
    List<JsonNode> rows = Cli.jsonLines(list.out());
    assertThat(rows).extracting(r -> r.get("queue").asText()).containsExactly("a", "b");
    assertThat(rows.get(0).get("ready").asLong()).isEqualTo(3);
    assertThat(rows.get(0).get("in_flight").asLong()).isEqualTo(2);
    assertThat(rows.get(1).get("ready").asLong()).isZero();
    assertThat(table.out()).contains("QUEUE").containsPattern("(?m)^a +3 +0 +2 +0 ");
    JsonNode s = Cli.json(stats.out());
    assertThat(s.get("sent").asLong()).isEqualTo(5);
    assertThat(s.get("settings").get("max_attempts").asInt()).isEqualTo(5);
  }

  @Test
  void unknownQueueIsExitCodeThree(TestSchema schema) {
    CommandRun run = new Cli(schema.name()).run("queue", "stats", "nope");

    assertThat(run.exitCode()).isEqualTo(ExitStatus.NOT_FOUND);
    assertThat(run.err()).contains("unknown queue 'nope'").doesNotContain("\tat ");
  }

  @Test
  void deleteNeedsYesAndOtherwiseChangesNothing(Broker broker, TestSchema schema) {
    broker.createQueue("doomed");
    broker.send("doomed", "x");
    Cli cli = new Cli(schema.name());

    CommandRun refused = cli.run("queue", "delete", "doomed");
    assertThat(refused.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(refused.err()).contains("loses its 1 live messages").contains("--yes");
    assertThat(broker.stats("doomed").ready()).isEqualTo(1);

    CommandRun deleted = cli.run("queue", "delete", "doomed", "--yes");
    assertThat(deleted.exitCode()).as(deleted.transcript()).isZero();
    assertThat(broker.queues()).isEmpty();
    assertThat(cli.run("queue", "delete", "doomed", "--yes").exitCode())
        .isEqualTo(ExitStatus.NOT_FOUND);
  }

  @Test
  void withoutADatabaseTheErrorSaysHowToGiveOne() {
    CommandRun run = CommandRun.of("queue", "list", "--db=");

    assertThat(run.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(run.err()).contains("pass --db <jdbc-url> or set PGBROKER_DB_URL");
  }

  @Test
  void aSchemaNotInstalledSaysToMigrate() {
    CommandRun run =
        CommandRun.of("queue", "list", "--db", TestDatabase.jdbcUrl(), "--schema", "never_made");

    assertThat(run.exitCode()).isEqualTo(ExitStatus.FAILED);
    assertThat(run.err()).contains("'never_made' is not installed").contains("pgbroker migrate");
  }

  @Test
  void theDatabaseComesFromPgbrokerDbUrl(Broker broker, TestSchema schema) throws Exception {
    broker.createQueue("from_env");
    String java = ProcessHandle.current().info().command().orElse("java");
    ProcessBuilder pb =
        new ProcessBuilder(
                java,
                "-cp",
                System.getProperty("java.class.path"),
                "dev.pgbroker.server.Main",
                "queue",
                "list",
                "--json",
                "--schema",
                schema.name())
            .redirectError(ProcessBuilder.Redirect.INHERIT);
    pb.environment().put(BrokerOptions.DB_VARIABLE, TestDatabase.jdbcUrl());
    pb.redirectInput(new File("/dev/null"));
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();

    assertThat(p.exitValue()).as(out).isZero();
    assertThat(Cli.jsonLines(out))
        .extracting(r -> r.get("queue").asText())
        .containsExactly("from_env");
  }
}
