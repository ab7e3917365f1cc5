package dev.pgbroker.server;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import java.util.regex.Pattern;

/** Opens a connection pool on a PostgreSQL JDBC URL, or fails with one line that says why. */
final class Database {
  static final String URL_EXAMPLE = "jdbc:postgresql://localhost:5432/mydb?user=me&password=secret";

  private static final Pattern PASSWORD = Pattern.compile("(?i)(password=)[^&]*");

  private Database() {}

  /** A pool of at most {@code size} connections, after checking that the server answers. */
  static HikariDataSource open(String url, int size) {
    check(url);
    // A plain connection first: a refused or unauthenticated login then reads as the driver's
    // own one-line reason, where a pool would log a stack trace and wrap the reason twice.
    try (Connection c = DriverManager.getConnection(url)) {
      c.isValid(5);
    } catch (SQLException e) {
      throw new CommandFailure("cannot connect to " + redact(url) + ": " + e.getMessage(), e);
    }
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setMaximumPoolSize(size);
    config.setMinimumIdle(0);
    config.setPoolName("pgbroker");
    return new HikariDataSource(config);
  }

  /** "PostgreSQL 17.11 at localhost:5432/postgres", for telling the user where the work happens. */
  static String describe(HikariDataSource ds) {
    try (Connection c = ds.getConnection()) {
      DatabaseMetaData meta = c.getMetaData();
      return "PostgreSQL "
          + meta.getDatabaseProductVersion()
          + " at "
          + redact(meta.getURL()).replaceFirst("^jdbc:postgresql://", "").replaceFirst("\\?.*", "");
    } catch (SQLException e) {
      throw new CommandFailure(
          "cannot reach " + redact(ds.getJdbcUrl()) + ": " + e.getMessage(), e);
    }
  }

  static void check(String url) {
    // parseURL returns null for a URL the driver cannot read, which DriverManager would
    // otherwise report as the puzzling "No suitable driver".
    if (url == null
        || !url.startsWith("jdbc:postgresql:")
        || org.postgresql.Driver.parseURL(url, new Properties()) == null) {
      throw new CommandFailure(
          "--db must be a PostgreSQL JDBC URL such as "
              + URL_EXAMPLE
              + ", was '"
              + redact(String.valueOf(url))
              + "'");
    }
  }

  /** The URL with any password hidden, for messages. */
  static String redact(String url) {
    return PASSWORD.matcher(url).replaceAll("$1***");
  }
}
