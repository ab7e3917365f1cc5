package dev.pgbroker.server;

import dev.pgbroker.Broker;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code pgbroker sql}: prints the schema as plain SQL, for installs without a JVM. */
@Command(
    name = "sql",
    mixinStandardHelpOptions = true,
    description = {
      "Print pgbroker's whole schema (tables, SQL functions, version bookkeeping) as one SQL"
          + " script, for psql, Flyway or Liquibase. A schema installed this way is the same as"
          + " one made by 'pgbroker migrate'.",
      "Example: pgbroker sql > pgbroker.sql && psql -v ON_ERROR_STOP=1 -f pgbroker.sql"
    })
final class SqlCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin SchemaOption schema;

  @Override
  public Integer call() {
    spec.commandLine().getOut().print(Broker.schemaScript(schema.name));
    return 0;
  }
}
