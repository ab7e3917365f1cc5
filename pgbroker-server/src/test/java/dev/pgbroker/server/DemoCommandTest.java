package dev.pgbroker.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgbroker.testing.TestDatabase;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The command's own part: options, database, migration; the stages are tested in DemoTest. */
class DemoCommandTest {
  private final String schema = Schemas.unique("demo_test");

  @AfterEach
  void dropSchemas() {
    Schemas.drop(schema, schema + "_demo");
  }

  @Test
  void aSecondRunOnTheSameDatabaseStartsClean() {
    CommandRun first = demo("--db", TestDatabase.jdbcUrl());
    CommandRun second = demo("--db", TestDatabase.jdbcUrl());

    assertThat(first.exitCode()).as(first.transcript()).isZero();
    assertThat(first.err()).isEmpty();
    assertThat(second.exitCode()).as(second.transcript()).isZero();
    assertThat(second.err()).isEmpty();
    assertThat(second.out()).contains("schema " + schema + " is up to date");
    assertThat(second.summary())
        .containsEntry("processed once", 500L)
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
    System.arraycopy(
        new String[] {"--schema", schema, "--messages", "500"}, 0, args, dbArgs.length + 1, 4);
    return CommandRun.of(args);
  }
}
