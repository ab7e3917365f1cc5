package dev.pgbroker.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgbroker.Broker;
import dev.pgbroker.testing.TestDatabase;
import java.io.IOException;
import java.net.ServerSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MigrateCommandTest {
  private final String schema = Schemas.unique("migrate_test");

  @AfterEach
  void dropSchema() {
    Schemas.drop(schema);
  }

  @Test
  void migratesAFreshSchemaThenFindsItCurrent() {
    CommandRun first = migrate(TestDatabase.jdbcUrl());
    CommandRun second = migrate(TestDatabase.jdbcUrl());

    assertThat(first.exitCode()).as(first.transcript()).isZero();
    assertThat(first.out().strip())
        .isEqualTo(
            "schema "
                + schema
                + " is at version "
                + Broker.SCHEMA_VERSION
                + " (applied "
                + Broker.SCHEMA_VERSION
                + " migrations)");
    assertThat(second.exitCode()).as(second.transcript()).isZero();
    assertThat(second.out().strip())
        .isEqualTo(
            "schema "
                + schema
                + " is at version "
                + Broker.SCHEMA_VERSION
                + " (applied 0 migrations)");
  }

  @Test
  void unreachableServerIsOneClearLineWithoutStackTrace() throws IOException {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort(); // free once closed, so nothing listens there
    }
    CommandRun run =
        migrate("jdbc:postgresql://127.0.0.1:" + closedPort + "/x?user=u&password=hush");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err())
        .startsWith("pgbroker migrate: cannot connect to jdbc:postgresql://127.0.0.1:" + closedPort)
        .contains("password=***")
        .doesNotContain("hush")
        .doesNotContain("\tat ");
  }

  @Test
  void malformedUrlIsRefusedBeforeConnecting() {
    CommandRun run = migrate("postgres://localhost/db");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err())
        .contains("--db must be a PostgreSQL JDBC URL such as jdbc:postgresql://")
        .doesNotContain("\tat ");
  }

  @Test
  void invalidSchemaNameIsRefused() {
    CommandRun run =
        CommandRun.of("migrate", "--db", TestDatabase.jdbcUrl(), "--schema", "No;Drop");

    assertThat(run.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(run.err()).contains("schema must match").contains("'No;Drop'");
  }

  @Test
  void stackTraceOnRequest() {
    CommandRun run = CommandRun.of("migrate", "--db", "nonsense", "--stacktrace");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err()).contains("\tat dev.pgbroker.server.Database");
  }

  @Test
  void missingDbIsAUsageError() {
    // --db= stands for no --db whether or not PGBROKER_DB_URL is set where the tests run.
    CommandRun run = CommandRun.of("migrate", "--db=");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err())
        .contains("no database given: pass --db <jdbc-url> or set PGBROKER_DB_URL")
        .contains("Try 'pgbroker migrate --help'");
  }

  private CommandRun migrate(String url) {
    return CommandRun.of("migrate", "--db", url, "--schema", schema);
  }
}
