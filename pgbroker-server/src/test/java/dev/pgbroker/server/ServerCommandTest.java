package dev.pgbroker.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestDatabase;
import dev.pgbroker.testing.TestSchema;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(BrokerExtension.class)
class ServerCommandTest {
  private static final String TOKEN = "file-admin-token-0123456789";

  @Test
  void fileSettingsWithEnvironmentOverrides(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("server.properties");
    Files.writeString(
        file,
        "db.url=jdbc:postgresql://db.example:5432/app\n"
            + "http.port=9000\n"
            + "http.admin-tokens="
            + TOKEN
            + ", second-admin-token-0123\n"
            + "relay.sink=rabbitmq\n");
    ServerConfig c =
        ServerConfig.load(
            file,
            Map.of(
                "PGBROKER_HTTP_PORT", "9100",
                "PGBROKER_HTTP_READ_TOKENS", "reader-token-0123456789",
                "PGBROKER_SCHEMA", "other"));
    assertThat(c.dbUrl()).isEqualTo("jdbc:postgresql://db.example:5432/app");
    assertThat(c.api().port()).isEqualTo(9100);
    assertThat(c.api().bindAddress()).isEqualTo("127.0.0.1");
    assertThat(c.api().adminTokens()).containsExactly(TOKEN, "second-admin-token-0123");
    assertThat(c.api().readTokens()).containsExactly("reader-token-0123456789");
    assertThat(c.schema()).isEqualTo("other");
    assertThat(c.generatedToken()).isFalse();
    assertThat(c.relay().getProperty("relay.sink")).isEqualTo("rabbitmq");

    ServerConfig envOnly =
        ServerConfig.load(null, Map.of("PGBROKER_DB_URL", "jdbc:postgresql://h/db"));
    assertThat(envOnly.generatedToken()).isTrue();
    assertThat(envOnly.api().adminTokens().get(0)).hasSizeGreaterThanOrEqualTo(40);
    assertThat(envOnly.relay()).isNull();
  }

  @Test
  void badSettingsAreRefusedByName(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("bad.properties");
    Files.writeString(file, "db.url=jdbc:postgresql://h/db\nhttp.prot=1\n");
    assertThatThrownBy(() -> ServerConfig.load(file, Map.of()))
        .hasMessageStartingWith("unknown setting 'http.prot'")
        .hasMessageContaining("http.port");
    assertThatThrownBy(() -> ServerConfig.load(null, Map.of()))
        .hasMessageStartingWith("no database: set db.url");
    Map<String, String> env = Map.of("PGBROKER_DB_URL", "jdbc:postgresql://h/db");
    assertThatThrownBy(() -> ServerConfig.load(null, with(env, "PGBROKER_HTTP_PORT", "70000")))
        .hasMessage("bad setting: port must be from 0 to 65535, was 70000");
    assertThatThrownBy(() -> ServerConfig.load(null, with(env, "PGBROKER_HTTP_PORT", "eighty")))
        .hasMessage("bad setting: http.port must be a whole number, was 'eighty'");
    assertThatThrownBy(
            () -> ServerConfig.load(null, with(env, "PGBROKER_HTTP_ADMIN_TOKENS", "short")))
        .hasMessageContaining("admin token must be at least 16");
    CommandRun run = CommandRun.of("server", "--config", dir.resolve("missing").toString());
    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err()).contains("cannot read --config");
  }

  @Test
  void startsServesAndStops(TestSchema schema) throws Exception {
    ServerConfig c =
        ServerConfig.load(
            null,
            Map.of(
                "PGBROKER_DB_URL",
                TestDatabase.jdbcUrl(),
                "PGBROKER_SCHEMA",
                schema.name(),
                "PGBROKER_HTTP_PORT",
                "0",
                "PGBROKER_HTTP_ADMIN_TOKENS",
                TOKEN));
    StringWriter printed = new StringWriter();
    HttpClient http = HttpClient.newHttpClient();
    URI base;
    try (RunningServer server = RunningServer.start(c, new PrintWriter(printed, true))) {
      base = URI.create("http://127.0.0.1:" + server.port() + "/");
      assertThat(get(http, base.resolve("health/ready"), null).statusCode()).isEqualTo(200);
      assertThat(get(http, base.resolve("v1/queues"), null).statusCode()).isEqualTo(401);
      HttpResponse<String> queues = get(http, base.resolve("v1/queues"), TOKEN);
      assertThat(queues.statusCode()).isEqualTo(200);
      assertThat(queues.body()).isEqualTo("{\"queues\":[]}");
    }
    assertThat(printed.toString()).contains("HTTP API:  http://127.0.0.1:").doesNotContain(TOKEN);
    assertThatThrownBy(() -> get(http, base.resolve("health/live"), null))
        .isInstanceOf(ConnectException.class);
  }

  private static HttpResponse<String> get(HttpClient http, URI uri, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri);
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static Map<String, String> with(Map<String, String> env, String key, String value) {
    Map<String, String> m = new java.util.HashMap<>(env);
    m.put(key, value);
    return m;
  }
}
