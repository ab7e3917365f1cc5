package dev.pgbroker.server;

import dev.pgbroker.testing.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/** Schema names of a test's own, and their removal afterwards; public for the demo's tests. */
public final class Schemas {
  private Schemas() {}

  /** A schema name no other test JVM uses at the same time. */
  public static String unique(String prefix) {
    return prefix + "_" + ProcessHandle.current().pid() + "_" + System.nanoTime() % 100_000;
  }

  public static void drop(String... schemas) {
    try (Connection c = TestDatabase.dataSource().getConnection();
        Statement s = c.createStatement()) {
      for (String schema : schemas) {
        s.execute("drop schema if exists " + schema + " cascade");
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot drop test schemas", e);
    }
  }
}
