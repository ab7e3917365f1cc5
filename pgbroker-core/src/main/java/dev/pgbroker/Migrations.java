package dev.pgbroker;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies the numbered SQL files in {@code dev/pgbroker/migrations} that a schema lacks, in one
 * transaction under an advisory lock, so instances starting together wait for each other
 * instead of failing.
 */
final class Migrations {
  private static final Logger log = LoggerFactory.getLogger(Migrations.class);

  /** In order; a file's number is its version. Never edit a released file: add the next one. */
  static final List<String> FILES = List.of("001_queues.sql");

  private Migrations() {}

  /** Returns how many migrations were applied (zero when the schema was current). */
  static int apply(DataSource ds, String schema) {
    return Sql.run(ds, "migrate schema " + schema, c -> {
      boolean auto = c.getAutoCommit();
      c.setAutoCommit(true);
      // A session lock taken before the transaction begins: a transaction that started while
      // another instance was migrating could still see the schema as missing in its caches.
      advisoryLock(c, schema, "pg_advisory_lock");
      try {
        c.setAutoCommit(false);
        int applied = applyLocked(c, schema);
        c.commit();
        return applied;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(true);
        advisoryLock(c, schema, "pg_advisory_unlock");
        c.setAutoCommit(auto);
      }
    });
  }

  private static void advisoryLock(Connection c, String schema, String function) throws SQLException {
    try (PreparedStatement lock = c.prepareStatement(
        "select " + function + "(hashtextextended('pgbroker.migrate.' || ?, 0))")) {
      lock.setString(1, schema); // the schema name, so different schemas migrate independently
      lock.execute();
    }
  }

  private static int applyLocked(Connection c, String schema) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("create schema if not exists " + schema);
      s.execute("create table if not exists " + schema + ".schema_version ("
          + "version integer primary key, file text not null, "
          + "applied_at timestamptz not null default now())");
    }
    int current = currentVersion(c, schema);
    if (current > FILES.size()) {
      throw new BrokerException("schema " + schema + " is at version " + current
          + " but this pgbroker knows versions up to " + FILES.size() + "; upgrade pgbroker");
    }
    for (int v = current + 1; v <= FILES.size(); v++) {
      String file = FILES.get(v - 1);
      try (Statement s = c.createStatement()) {
        s.execute(read(file).replace("{{schema}}", schema));
      }
      try (PreparedStatement record = c.prepareStatement(
          "insert into " + schema + ".schema_version (version, file) values (?, ?)")) {
        record.setInt(1, v); // the version the file brings the schema to
        record.setString(2, file); // its name, for operators
        record.execute();
      }
      log.info("pgbroker: applied migration {} to schema {}", file, schema);
    }
    return FILES.size() - current;
  }

  private static int currentVersion(Connection c, String schema) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(
            "select coalesce(max(version), 0) from " + schema + ".schema_version")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static String read(String file) {
    try (InputStream in = Migrations.class.getResourceAsStream("migrations/" + file)) {
      if (in == null) {
        throw new IllegalStateException("migration " + file + " is missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
