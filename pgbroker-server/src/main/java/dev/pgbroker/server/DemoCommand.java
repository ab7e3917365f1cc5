package dev.pgbroker.server;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.Broker;
import dev.pgbroker.server.demo.Demo;
import java.io.IOException;
import java.io.PrintWriter;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code pgbroker demo}: runs {@link Demo} on a given database or an embedded one. */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Run pgbroker's main job end to end and check the result.",
      "",
      "One producer and three competing consumers process payments exactly once; a delayed"
          + " message waits for its time; a poison message retries into the dead-letter store"
          + " and is replayed after a fix; a send in a rolled-back transaction never appears."
          + " Without --db an embedded PostgreSQL is started for the run.",
      ""
    })
final class DemoCommand implements Callable<Integer> {
  static final int MAX_MESSAGES = 1_000_000;

  @Spec CommandSpec spec;

  @Option(
      names = "--db",
      paramLabel = "<jdbc-url>",
      description = "PostgreSQL JDBC URL; default: an embedded PostgreSQL started for this run.")
  String db;

  @Option(
      names = "--schema",
      defaultValue = Broker.DEFAULT_SCHEMA,
      description =
          "Schema for pgbroker's tables (default: ${DEFAULT-VALUE}); the demo's own"
              + " table goes in <schema>_demo.")
  String schema;

  @Option(
      names = "--messages",
      paramLabel = "N",
      defaultValue = "2000",
      description = "Payments to send (default: ${DEFAULT-VALUE}).")
  int messages;

  @Option(
      names = "--work-ms",
      paramLabel = "MS",
      defaultValue = "2",
      description =
          "Simulated processing time per payment (default: ${DEFAULT-VALUE});"
              + " 0 shows the broker's own pace.")
  int workMs;

  @Override
  public Integer call() throws SQLException, InterruptedException, IOException {
    if (messages < 1 || messages > MAX_MESSAGES) {
      throw new ParameterException(
          spec.commandLine(),
          "--messages must be between 1 and " + MAX_MESSAGES + ", was " + messages);
    }
    if (workMs < 0 || workMs > 1000) {
      throw new ParameterException(
          spec.commandLine(), "--work-ms must be between 0 and 1000, was " + workMs);
    }
    PrintWriter out = spec.commandLine().getOut();
    long start = System.nanoTime();
    if (db == null) {
      out.println("No --db given: starting an embedded PostgreSQL for this run...");
      out.flush();
    }
    try (EmbeddedDatabase embedded = db == null ? EmbeddedDatabase.start() : null;
        HikariDataSource ds = Database.open(db == null ? embedded.jdbcUrl() : db, Demo.POOL_SIZE);
        // Built without migrating, so that migrate() below can say what it did.
        Broker broker = Broker.create(ds).schema(schema).migrate(false).build()) {
      out.printf(
          "database: %s%s%n",
          Database.describe(ds),
          embedded == null
              ? ""
              : String.format(" (embedded, ready in %.1f s)", (System.nanoTime() - start) / 1e9));
      int applied = broker.migrate();
      out.println(
          applied == 0
              ? "schema " + schema + " is up to date"
              : "schema "
                  + schema
                  + ": applied "
                  + applied
                  + " migration"
                  + (applied == 1 ? "" : "s"));
      boolean ok = Demo.run(broker, ds, out, messages, Duration.ofMillis(workMs), start);
      if (System.console() != null) { // in a terminal; scripts and CI get the summary and exit
        out.println();
        out.println("The dashboard shows what the demo left behind:");
        RunningServer.serveUntilInterrupted(broker, ds, out);
      }
      return ok ? 0 : Main.FAILED;
    }
  }
}
