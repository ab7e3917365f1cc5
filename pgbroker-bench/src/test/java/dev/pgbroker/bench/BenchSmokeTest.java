package dev.pgbroker.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgbroker.testing.TestDatabase;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CI runs the whole benchmark at its quick size: every scenario must run and reach the table, the
 * JSON and the docs page. Timings are never asserted; on a shared CI machine they mean nothing at
 * this size.
 */
class BenchSmokeTest {
  static final List<String> FIGURES =
      List.of(
          "raw.insert",
          "raw.dequeue",
          "raw.single_insert",
          "pgbroker.batch_send",
          "pgbroker.single_send",
          "pgbroker.worker",
          "pgbroker.heap_small",
          "pgbroker.steady",
          "pgbroker.latency_notify",
          "pgbroker.latency_sql_send",
          "pgbroker.latency_poll",
          "pgbroker.backlog_fill",
          "pgbroker.backlog_worker",
          "pgbroker.heap_backlog",
          "pgbroker.ordered_none",
          "pgbroker.ordered_few",
          "pgbroker.ordered_some",
          "pgbroker.ordered_many",
          "pgbroker.read_plain",
          "pgbroker.held_key_parking",
          "pgbroker.read_held_key",
          "dbscheduler.enqueue",
          "dbscheduler.process",
          "dbscheduler.latency",
          "jobrunr.enqueue",
          "jobrunr.process",
          "jobrunr.latency");
  static final List<String> RATIOS =
      List.of(
          "worker_vs_raw",
          "send_vs_raw",
          "single_send_vs_raw",
          "worker_vs_dbscheduler",
          "worker_vs_jobrunr",
          "backlog_vs_small",
          "heap_backlog_vs_small",
          "latency_p50",
          "latency_p99",
          "latency_p999",
          "ordered_few_vs_none",
          "ordered_some_vs_none",
          "ordered_many_vs_none",
          "held_key_slowdown");

  @Test
  void quickRunReportsEveryScenario(@TempDir Path dir) throws Exception {
    Path json = dir.resolve("results.json");
    Path doc = dir.resolve("performance.md");
    Files.writeString(
        doc,
        "# Performance\n\n"
            + Report.BEGIN
            + "\nold figures, autovacuum off\n"
            + Report.END
            + "\n\n"
            + Report.BEGIN_AUTOVACUUM
            + "\nold figures, autovacuum on\n"
            + Report.END_AUTOVACUUM
            + "\n\nafter\n");
    ByteArrayOutputStream out = new ByteArrayOutputStream();

    int exit =
        BenchMain.run(
            new PrintStream(out, true, StandardCharsets.UTF_8),
            "--quick",
            "--db",
            TestDatabase.jdbcUrl(),
            "--out",
            json.toString(),
            "--write-docs",
            doc.toString());

    String table = out.toString(StandardCharsets.UTF_8);
    JsonNode results = new ObjectMapper().readTree(json.toFile());
    assertThat(results.get("errors")).as(table).isEmpty();
    assertThat(exit).isZero();
    for (String key : FIGURES) {
      JsonNode figure = results.get("figures").get(key);
      assertThat(figure).as(key).isNotNull();
      assertThat(table).contains(figure.get("label").asText());
    }
    assertThat(results.get("ratios").findValuesAsText("key")).containsAll(RATIOS);
    assertThat(table).contains("ratio: pgbroker worker / raw-SQL dequeue");
    String page = Files.readString(doc);
    assertThat(page).contains(table.strip()).endsWith("after\n");
    // The table replaced the section of the server's autovacuum setting, and only that one.
    assertThat(page.split("old figures", -1)).hasSize(2);
  }
}
