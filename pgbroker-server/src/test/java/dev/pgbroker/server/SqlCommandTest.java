package dev.pgbroker.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.pgbroker.Broker;
import dev.pgbroker.Delivery;
import dev.pgbroker.testing.TestDatabase;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqlCommandTest {
  private final String schema = Schemas.unique("sql_install");

  @AfterEach
  void dropSchema() {
    Schemas.drop(schema);
  }

  @Test
  void schemaInstalledWithPsqlIsTheOneJavaMakes(@TempDir Path dir) throws Exception {
    assumeTrue(onPath("psql"), "the psql client is not installed");
    CommandRun sql = CommandRun.of("sql", "--schema", schema);
    assertThat(sql.exitCode()).as(sql.transcript()).isZero();
    Path script = dir.resolve("pgbroker.sql");
    Files.writeString(script, sql.out());

    // jdbc:postgresql://host:port/db?user=u as psql arguments
    URI url = URI.create(TestDatabase.jdbcUrl().substring("jdbc:".length()));
    String user = url.getQuery().replaceAll(".*user=([^&]*).*", "$1");
    Process psql =
        new ProcessBuilder(
                "psql",
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                url.getHost(),
                "-p",
                String.valueOf(url.getPort()),
                "-U",
                user,
                "-d",
                url.getPath().substring(1),
                "-f",
                script.toString())
            .redirectErrorStream(true)
            .start();
    assertThat(psql.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String output = new String(psql.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(psql.exitValue()).as(output).isZero();

    String codeBefore = one("select sha256 || applied_at from " + schema + ".schema_code");
    try (Broker broker = Broker.create(TestDatabase.dataSource()).schema(schema).build()) {
      assertThat(broker.migrate()).as("nothing left to apply").isZero();
      assertThat(one("select sha256 || applied_at from " + schema + ".schema_code"))
          .as("the code psql installed is the code Java would install")
          .isEqualTo(codeBefore);
      one("select " + schema + ".create_queue('from_psql')");
      broker.send("from_psql", "hello");
      List<Delivery> got = broker.read("from_psql", 1);
      assertThat(got).extracting(d -> d.payload(String.class)).containsExactly("hello");
    }
  }

  @Test
  void badSchemaNameIsOneClearLine() {
    CommandRun run = CommandRun.of("sql", "--schema", "Bad Name");
    assertThat(run.exitCode()).isNotZero();
    assertThat(run.err()).contains("schema must match").doesNotContain("Exception");
    assertThat(run.out()).isEmpty();
  }

  private static String one(String sql) throws Exception {
    try (Connection c = TestDatabase.dataSource().getConnection();
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static boolean onPath(String command) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (Files.isExecutable(Path.of(dir, command))) {
        return true;
      }
    }
    return false;
  }
}
