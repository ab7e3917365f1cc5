package dev.pgbroker.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgbroker.testing.TestDatabase;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

class DemoCommandTest {
  private final String schema = Schemas.unique("demo_test");

  @AfterEach
  void dropSchemas() {
    Schemas.drop(schema, schema + "_demo");
  }

  @Test
  void everyPaymentIsProcessedOnceAndThePoisonOneIsDeadLetteredThenReplayed() {
    CommandRun run = demo("--db", TestDatabase.jdbcUrl());

    assertThat(run.exitCode()).as(run.transcript()).isZero();
    Map<String, Long> summary = run.summary();
    assertThat(summary).as(run.transcript())
        .containsEntry("sent", 500L)
        .containsEntry("processed once", 500L)
        .containsEntry("duplicates", 0L)
        .containsEntry("lost", 0L)
        .containsEntry("dead-lettered", 1L)
        .containsEntry("replayed", 1L);
    assertThat(run.out())
        .contains("other connections see 0 messages")
        .contains("queue holds 0 messages, receive returns 0, sent counter is 0")
        .contains("receive right away returns nothing")
        .contains("failed 3 times and moved to the dead-letter store")
        .contains("attempt 3 at +", "has no currency (in consumer-")
        .contains("result: OK");
    assertThat(run.err()).isEmpty();
  }

  @Test
  void aSecondRunOnTheSameDatabaseStartsClean() {
    CommandRun first = demo("--db", TestDatabase.jdbcUrl());
    CommandRun second = demo("--db", TestDatabase.jdbcUrl());

    assertThat(first.exitCode()).as(first.transcript()).isZero();
    assertThat(second.exitCode()).as(second.transcript()).isZero();
    assertThat(second.out()).contains("schema " + schema + " is up to date");
    assertThat(second.summary()).containsEntry("processed once", 500L)
        .containsEntry("duplicates", 0L);
  }

  @Test
  @Tag("slow")
  void withoutDbItRunsOnEmbeddedPostgres() {
    CommandRun run = CommandRun.of("demo", "--messages", "100", "--work-ms", "0");

    assertThat(run.exitCode()).as(run.transcript()).isZero();
    assertThat(run.out())
        .contains("No --db given: starting an embedded PostgreSQL")
        .contains("(embedded, ready in")
        .contains("result: OK");
    assertThat(run.summary()).containsEntry("processed once", 100L);
  }

  @Test
  void badMessageCountIsAUsageError() {
    CommandRun run = CommandRun.of("demo", "--messages", "0");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("--messages must be between 1 and 1000000, was 0");
  }

  private CommandRun demo(String... dbArgs) {
    String[] args = new String[dbArgs.length + 5];
    args[0] = "demo";
    System.arraycopy(dbArgs, 0, args, 1, dbArgs.length);
    System.arraycopy(new String[] {"--schema", schema, "--messages", "500"}, 0, args,
        dbArgs.length + 1, 4);
    return CommandRun.of(args);
  }
}
