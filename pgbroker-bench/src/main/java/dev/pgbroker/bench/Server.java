package dev.pgbroker.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * The PostgreSQL server a run measures: the one at the URL, or an embedded one started for the run
 * when no URL was given and nothing answers at the default. Every scenario gets a fresh schema on
 * it.
 */
final class Server implements AutoCloseable {
  static final String DEFAULT_URL = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";

  /** The peers get a database of their own, so their tables never meet pgbroker's. */
  static final String PEERS_DATABASE = "bench_peers";

  private static final Pattern URL = Pattern.compile("(jdbc:postgresql://[^/]*/)([^?]*)(\\?.*)?");

  private final String url;
  private final EmbeddedPostgres embedded;
  private String peersUrl;

  private Server(String url, EmbeddedPostgres embedded) {
    this.url = url;
    this.embedded = embedded;
  }

  /** What {@code --db} takes to measure on a new embedded server. */
  static final String EMBEDDED = "embedded";

  /**
   * Connects to {@code given}, or to the default URL, else to a new embedded server (also when
   * {@code given} is {@link #EMBEDDED}).
   */
  static Server open(String given, Progress progress) throws IOException {
    if (!EMBEDDED.equals(given)) {
      String url = given != null ? given : DEFAULT_URL;
      try (Connection c = DriverManager.getConnection(url)) {
        return new Server(url, null);
      } catch (SQLException e) {
        if (given != null) {
          throw new IllegalStateException(
              "no PostgreSQL answers at " + given + ": " + e.getMessage(), e);
        }
      }
    }
    progress.phase("starting an embedded PostgreSQL (default settings: autovacuum on)");
    EmbeddedPostgres pg = EmbeddedPostgres.builder().start();
    return new Server(pg.getJdbcUrl("postgres", "postgres"), pg);
  }

  String url() {
    return url;
  }

  boolean embedded() {
    return embedded != null;
  }

  /** A pool on {@code jdbcUrl} whose connections use {@code schema} as their search_path. */
  static HikariDataSource pool(String jdbcUrl, String schema, int size) {
    return pool(jdbcUrl, schema, size, false);
  }

  /**
   * A pool as above; {@code rewriteBatches} turns on the driver's rewriting of JDBC insert batches
   * into multi-row inserts, the speed setting a user of a batching peer would choose.
   */
  static HikariDataSource pool(String jdbcUrl, String schema, int size, boolean rewriteBatches) {
    HikariConfig config = new HikariConfig();
    if (rewriteBatches) {
      config.addDataSourceProperty("reWriteBatchedInserts", "true");
    }
    config.setJdbcUrl(jdbcUrl);
    config.setMaximumPoolSize(size);
    config.setMinimumIdle(0);
    config.setPoolName("bench-" + schema);
    if (schema != null) {
      config.setSchema(schema);
    }
    return new HikariDataSource(config);
  }

  /**
   * The system catalogs a schema's creation and drop leave dead rows in: its tables, columns,
   * types, functions and their dependencies, some 3,600 rows a pgbroker schema. On a server with
   * autovacuum off they piled up by the hundred thousand within a run and slowed every connection's
   * first use of a new schema, a keyed read (more statements to plan) more than the rest; a server
   * with autovacuum on keeps them vacuumed, so the bench does too after each drop. (Without the
   * rights to, PostgreSQL skips them with a warning.)
   */
  private static final String VACUUM_CATALOGS =
      "vacuum pg_catalog.pg_attribute, pg_catalog.pg_class, pg_catalog.pg_depend,"
          + " pg_catalog.pg_proc, pg_catalog.pg_type, pg_catalog.pg_index,"
          + " pg_catalog.pg_constraint, pg_catalog.pg_attrdef, pg_catalog.pg_trigger";

  /** Drops {@code schema} with all it holds and creates it empty. */
  static void freshSchema(String jdbcUrl, String schema) throws SQLException {
    dropSchema(jdbcUrl, schema);
    execute(jdbcUrl, "create schema " + schema);
  }

  static void dropSchema(String jdbcUrl, String schema) throws SQLException {
    execute(jdbcUrl, "drop schema if exists " + schema + " cascade", VACUUM_CATALOGS);
  }

  /**
   * Vacuums and analyses a table just filled. A server with autovacuum on would soon do the same
   * after a bulk load (this machine's runs with it off); every scenario gets it alike.
   */
  static void vacuumAnalyze(DataSource ds, String table) throws SQLException {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement()) {
      c.setAutoCommit(true);
      s.execute("vacuum analyze " + table);
    }
  }

  static void execute(String jdbcUrl, String... statements) throws SQLException {
    try (Connection c = DriverManager.getConnection(jdbcUrl);
        Statement s = c.createStatement()) {
      for (String sql : statements) {
        s.execute(sql);
      }
    }
  }

  /** The URL of the peers' database, created if missing; the main database if we may not. */
  synchronized String peersUrl() {
    if (peersUrl == null) {
      Matcher m = URL.matcher(url);
      if (!m.matches()) {
        return peersUrl = url;
      }
      try (Connection c = DriverManager.getConnection(url);
          Statement s = c.createStatement()) {
        boolean exists;
        try (ResultSet rs =
            s.executeQuery("select 1 from pg_database where datname = '" + PEERS_DATABASE + "'")) {
          exists = rs.next();
        }
        if (!exists) {
          s.execute("create database " + PEERS_DATABASE);
        }
        peersUrl = m.group(1) + PEERS_DATABASE + (m.group(3) == null ? "" : m.group(3));
      } catch (SQLException cannotCreate) {
        peersUrl = url;
      }
    }
    return peersUrl;
  }

  String version() throws SQLException {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "select current_setting('server_version'),"
                    + " current_setting('shared_buffers'), current_setting('autovacuum'),"
                    + " current_setting('synchronous_commit')")) {
      rs.next();
      return "PostgreSQL "
          + rs.getString(1)
          + (embedded() ? " (embedded)" : "")
          + "; shared_buffers "
          + rs.getString(2)
          + ", autovacuum "
          + rs.getString(3)
          + ", synchronous_commit "
          + rs.getString(4);
    }
  }

  /** Whether the server runs autovacuum: the figures differ, so the docs keep a table for each. */
  boolean autovacuum() throws SQLException {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("select current_setting('autovacuum')::boolean")) {
      rs.next();
      return rs.getBoolean(1);
    }
  }

  @Override
  public void close() throws IOException {
    if (embedded != null) {
      embedded.close();
    }
  }
}
