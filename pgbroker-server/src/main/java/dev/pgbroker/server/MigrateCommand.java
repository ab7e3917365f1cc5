package dev.pgbroker.server;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.Broker;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pgbroker migrate}: brings a database's pgbroker schema to the current version. */
@Command(
    name = "migrate",
    mixinStandardHelpOptions = true,
    description = "Create or upgrade pgbroker's schema (tables and SQL functions) in a database.")
final class MigrateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--db",
      required = true,
      paramLabel = "<jdbc-url>",
      description = "PostgreSQL JDBC URL, e.g. " + Database.URL_EXAMPLE)
  String db;

  @Mixin SchemaOption schema;

  @Override
  public Integer call() {
    try (HikariDataSource ds = Database.open(db, 2);
        // Built without migrating, so that migrate() below reports how many files it applied.
        Broker broker = Broker.create(ds).schema(schema.name).migrate(false).build()) {
      int applied = broker.migrate();
      spec.commandLine()
          .getOut()
          .printf(
              "schema %s is at version %d (applied %d migration%s)%n",
              schema.name, Broker.SCHEMA_VERSION, applied, applied == 1 ? "" : "s");
    }
    return 0;
  }
}
