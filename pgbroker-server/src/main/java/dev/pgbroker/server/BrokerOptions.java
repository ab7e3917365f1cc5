package dev.pgbroker.server;

import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code --db} (or {@code PGBROKER_DB_URL}) and {@code --schema}: what every operator command needs
 * to reach a broker.
 */
final class BrokerOptions {
  static final String DB_VARIABLE = "PGBROKER_DB_URL";

  @Spec(Spec.Target.MIXEE)
  CommandSpec mixee;

  // No ${DEFAULT-VALUE} in the description: --help would print the password the variable holds.
  @Option(
      names = "--db",
      paramLabel = "<jdbc-url>",
      defaultValue = "${env:" + DB_VARIABLE + "}",
      description =
          "PostgreSQL JDBC URL (default: $" + DB_VARIABLE + "), e.g. " + Database.URL_EXAMPLE)
  String db;

  @Mixin SchemaOption schema;

  /** The command these options belong to, for its output and its usage errors. */
  CommandLine cli() {
    return mixee.commandLine();
  }

  /** Connects, refusing a missing URL as bad usage and a schema not installed as a failure. */
  BrokerSession open() {
    return BrokerSession.open(url(), schema.name);
  }

  /** The URL given, or a usage error saying how to give one. */
  String url() {
    if (db == null || db.isBlank()) {
      throw new ParameterException(
          mixee.commandLine(),
          "no database given: pass --db <jdbc-url> or set "
              + DB_VARIABLE
              + ", e.g. "
              + Database.URL_EXAMPLE);
    }
    return db;
  }
}
