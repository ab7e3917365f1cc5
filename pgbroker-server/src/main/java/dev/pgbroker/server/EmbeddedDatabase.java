package dev.pgbroker.server;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;

/**
 * A throwaway PostgreSQL server in a temporary directory, so the demo runs on a machine with
 * nothing but a JDK. Its data is gone when it closes.
 */
final class EmbeddedDatabase implements AutoCloseable {
  private final EmbeddedPostgres postgres;

  private EmbeddedDatabase(EmbeddedPostgres postgres) {
    this.postgres = postgres;
  }

  static EmbeddedDatabase start() {
    try {
      return new EmbeddedDatabase(EmbeddedPostgres.builder().start());
    } catch (IOException | RuntimeException e) {
      // Binaries ship for Linux, macOS and Windows on x86-64; on anything else, or when the
      // temporary directory is not executable, a server of their own is the way out.
      throw new CommandFailure(
          "cannot start embedded PostgreSQL ("
              + e.getMessage()
              + "); pass --db "
              + Database.URL_EXAMPLE
              + " to use a server of your own",
          e);
    }
  }

  String jdbcUrl() {
    return postgres.getJdbcUrl("postgres", "postgres");
  }

  @Override
  public void close() {
    try {
      postgres.close();
    } catch (IOException e) {
      // Its files live in a temporary directory, so a failed stop leaves nothing that matters.
      throw new CommandFailure("embedded PostgreSQL did not stop cleanly: " + e.getMessage(), e);
    }
  }
}
