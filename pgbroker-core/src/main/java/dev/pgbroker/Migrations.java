package dev.pgbroker;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.List;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings a schema up to date in one transaction under an advisory lock, so instances starting
 * together wait for each other instead of failing.
 *
 * <p>Two kinds of SQL file, both found in the jar: tables live in numbered migrations ({@code
 * migrations/NNN_*.sql}), each applied once and never edited after a release; functions and
 * triggers live in one file per concern ({@code code/*.sql}), dropped and created again whenever
 * their combined text changes. So a fix to {@code read()} edits the one place it is defined.
 */
final class Migrations {
  private static final Logger log = LoggerFactory.getLogger(Migrations.class);

  /** Numbered table migrations, in order; a file's position is its version. */
  static final List<SqlFile> TABLES = SqlFile.list("migrations");

  /** Functions and triggers, in file-name order (later files may call earlier ones). */
  static final List<SqlFile> CODE = SqlFile.list("code");

  private Migrations() {}

  /** The whole schema as one script, for tools that install SQL themselves. */
  static String script(String schema) {
    StringBuilder out = new StringBuilder("create schema if not exists " + schema + ";\n");
    for (SqlFile f : TABLES) {
      out.append("\n-- ").append(f.name()).append('\n').append(f.text(schema));
    }
    for (SqlFile f : CODE) {
      out.append("\n-- code/").append(f.name()).append('\n').append(f.text(schema));
    }
    return out.toString();
  }

  /** Returns how many table migrations were applied (zero when the schema was current). */
  static int apply(DataSource ds, String schema) {
    return Sql.run(
        ds,
        "migrate schema " + schema,
        c -> {
          boolean auto = c.getAutoCommit();
          c.setAutoCommit(true);
          // A session lock taken before the transaction begins: a transaction that started while
          // another instance was migrating could still see the schema as missing in its caches.
          advisoryLock(c, schema, "pg_advisory_lock");
          try {
            c.setAutoCommit(false);
            int applied = applyTables(c, schema);
            applyCode(c, schema);
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

  private static void advisoryLock(Connection c, String schema, String function)
      throws SQLException {
    try (PreparedStatement lock =
        c.prepareStatement(
            "select " + function + "(hashtextextended('pgbroker.migrate.' || ?, 0))")) {
      lock.setString(1, schema); // the schema name, so different schemas migrate independently
      lock.execute();
    }
  }

  private static int applyTables(Connection c, String schema) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("create schema if not exists " + schema);
      s.execute(
          "create table if not exists "
              + schema
              + ".schema_version ("
              + "version integer primary key, file text not null, "
              + "applied_at timestamptz not null default now())");
      s.execute(
          "create table if not exists "
              + schema
              + ".schema_code ("
              + "sha256 text primary key, applied_at timestamptz not null default now())");
    }
    int current = single(c, "select coalesce(max(version), 0) from " + schema + ".schema_version");
    if (current > TABLES.size()) {
      throw new BrokerException(
          "schema "
              + schema
              + " is at version "
              + current
              + " but this pgbroker knows versions up to "
              + TABLES.size()
              + "; upgrade pgbroker");
    }
    for (int v = current + 1; v <= TABLES.size(); v++) {
      SqlFile file = TABLES.get(v - 1);
      try (Statement s = c.createStatement()) {
        s.execute(file.text(schema));
      }
      try (PreparedStatement record =
          c.prepareStatement(
              "insert into " + schema + ".schema_version (version, file) values (?, ?)")) {
        record.setInt(1, v); // the version the file brings the schema to
        record.setString(2, file.name()); // its name, for operators
        record.execute();
      }
      log.info("pgbroker: applied migration {} to schema {}", file.name(), schema);
    }
    return TABLES.size() - current;
  }

  /** Replaces every function and trigger of the schema when the code files changed. */
  private static void applyCode(Connection c, String schema) throws SQLException {
    String sha = codeHash(schema);
    try (PreparedStatement ps =
        c.prepareStatement("select count(*) from " + schema + ".schema_code where sha256 = ?")) {
      ps.setString(1, sha); // hash of the code files as this pgbroker would apply them
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        if (rs.getInt(1) > 0) {
          return;
        }
      }
    }
    dropCode(c, schema);
    try (Statement s = c.createStatement()) {
      for (SqlFile f : CODE) {
        s.execute(f.text(schema));
      }
      s.execute("delete from " + schema + ".schema_code");
    }
    try (PreparedStatement ps =
        c.prepareStatement("insert into " + schema + ".schema_code (sha256) values (?)")) {
      ps.setString(1, sha); // hash of the code files just applied
      ps.execute();
    }
    log.info("pgbroker: applied {} code files to schema {}", CODE.size(), schema);
  }

  /**
   * Drops pgbroker's own triggers and functions (without cascade: an object of the user's that
   * depends on one makes the upgrade fail with PostgreSQL's message naming it, rather than vanish).
   */
  private static void dropCode(Connection c, String schema) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(
          """
          do $$
          declare
            t record;
          begin
            for t in select tg.tgname, tg.tgrelid::regclass as tab from pg_trigger tg
                     join pg_proc p on p.oid = tg.tgfoid
                     where not tg.tgisinternal and p.pronamespace = '%1$s'::regnamespace loop
              execute format('drop trigger %%I on %%s', t.tgname, t.tab);
            end loop;
            for t in select p.oid::regprocedure as f from pg_proc p
                     where p.pronamespace = '%1$s'::regnamespace loop
              execute format('drop function %%s', t.f);
            end loop;
          end $$"""
              .formatted(schema));
    }
  }

  private static String codeHash(String schema) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (SqlFile f : CODE) {
        sha.update(f.name().getBytes(StandardCharsets.UTF_8));
        sha.update(f.text(schema).getBytes(StandardCharsets.UTF_8));
      }
      return HexFormat.of().formatHex(sha.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  private static int single(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
