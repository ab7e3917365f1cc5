package dev.pgbroker.server;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.Broker;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code pgbroker migrate}: brings a database's pgbroker schema to the current version. */
@Command(
    name = "migrate",
    mixinStandardHelpOptions = true,
    description = "Create or upgrade pgbroker's schema (tables and SQL functions) in a database.")
final class MigrateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  // --db or PGBROKER_DB_URL, and --schema, as every command that needs a database takes them.
  @Mixin BrokerOptions db;

  @Override
  public Integer call() {
    SchemaOption schema = db.schema;
    try (HikariDataSource ds = Database.open(db.url(), 2);
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
