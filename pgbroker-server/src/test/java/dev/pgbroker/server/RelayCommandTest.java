package dev.pgbroker.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgbroker.testing.TestDatabase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code pgbroker relay} refuses what it cannot run with one clear line; docs/relay.md runs it. */
class RelayCommandTest {
  private final String schema = Schemas.unique("relay_cmd");
  private Path file;

  @AfterEach
  void cleanUp() throws IOException {
    Schemas.drop(schema);
    if (file != null) {
      Files.deleteIfExists(file);
    }
  }

  private Path config(String text) throws IOException {
    file = Files.createTempFile("relay", ".properties");
    Files.writeString(file, text);
    return file;
  }

  @Test
  void missingFileIsBadInput() {
    CommandRun run = CommandRun.of("relay", "--config", "/nonexistent/relay.properties");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err())
        .contains("cannot read --config /nonexistent/relay.properties")
        .doesNotContain("\tat ");
  }

  @Test
  void badSettingNamesTheFileTheKeyAndWhatIsAllowed() throws IOException {
    Path f =
        config(
            "relay.sink=kafka\nrelay.kafka.bootstrap-servers=k:9092\nrelay.queues=a\nrelay.window=0\n");
    CommandRun run =
        CommandRun.of("relay", "--config", f.toString(), "--db", TestDatabase.jdbcUrl());
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains(f + ": relay.window: window must be between 1 and 4096, was 0");
  }

  @Test
  void unknownQueueIsNotFound() throws IOException {
    assertThat(
            CommandRun.of("migrate", "--db", TestDatabase.jdbcUrl(), "--schema", schema).exitCode())
        .isZero();
    Path f =
        config(
            "server.port=8080\nrelay.sink=rabbitmq\n"
                + "relay.rabbitmq.uri=amqp://guest:guest@127.0.0.1:5672/%2f\nrelay.queues=nope\n");
    CommandRun run =
        CommandRun.of(
            "relay", "--config", f.toString(), "--db", TestDatabase.jdbcUrl(), "--schema", schema);
    assertThat(run.exitCode()).as(run.transcript()).isEqualTo(3);
    assertThat(run.err()).contains("nope");
  }
}
