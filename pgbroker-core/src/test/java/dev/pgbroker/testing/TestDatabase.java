package dev.pgbroker.testing;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * The PostgreSQL server every test talks to, chosen once per JVM: the one named by {@code
 * PGBROKER_TEST_JDBC_URL}, else the local server at 127.0.0.1:5432 when it answers, else an
 * embedded PostgreSQL started for this JVM.
 */
public final class TestDatabase {
  public static final String URL_VARIABLE = "PGBROKER_TEST_JDBC_URL";
  private static final String LOCAL = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";

  private static String url;
  private static HikariDataSource pool;
  private static EmbeddedPostgres embedded;

  private TestDatabase() {}

  /** The JDBC URL (with user) of the chosen server. */
  public static synchronized String jdbcUrl() {
    if (url == null) {
      url = choose();
    }
    return url;
  }

  /** A pool shared by all tests in this JVM. */
  public static synchronized DataSource dataSource() {
    if (pool == null) {
      pool = pool(jdbcUrl(), 16);
    }
    return pool;
  }

  public static HikariDataSource pool(String jdbcUrl, int size) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(jdbcUrl);
    config.setMaximumPoolSize(size);
    config.setMinimumIdle(0);
    return new HikariDataSource(config);
  }

  private static String choose() {
    String given = System.getenv(URL_VARIABLE);
    if (given != null && !given.isBlank()) {
      return given;
    }
    try (Connection c = DriverManager.getConnection(LOCAL)) {
      return LOCAL;
    } catch (SQLException noLocalServer) {
      try {
        embedded = EmbeddedPostgres.builder().start();
        Runtime.getRuntime().addShutdownHook(new Thread(TestDatabase::stopEmbedded));
        return embedded.getJdbcUrl("postgres", "postgres");
      } catch (IOException e) {
        throw new UncheckedIOException("no PostgreSQL at 127.0.0.1:5432 and embedded failed", e);
      }
    }
  }

  private static void stopEmbedded() {
    try {
      embedded.close();
    } catch (IOException ignored) {
      // the JVM is exiting; the embedded server's files go with its temp directory
    }
  }
}
