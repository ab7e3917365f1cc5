package dev.pgbroker.server;

import dev.pgbroker.Broker;
import picocli.CommandLine.Option;

/** The {@code --schema} option every command that touches pgbroker's schema shares. */
final class SchemaOption {
  @Option(
      names = "--schema",
      defaultValue = Broker.DEFAULT_SCHEMA,
      description = "Schema for pgbroker's tables and functions (default: ${DEFAULT-VALUE}).")
  String name;
}
