package dev.pgbroker.server;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.Broker;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import javax.sql.DataSource;

/** A pool and a broker over it for one command's run; closing it closes both. */
final class BrokerSession implements AutoCloseable {
  // One for the command's statements, one for a LISTEN connection (receive --wait, tail).
  private static final int POOL_SIZE = 3;

  private final HikariDataSource pool;
  private final Broker broker;

  private BrokerSession(HikariDataSource pool, Broker broker) {
    this.pool = pool;
    this.broker = broker;
  }

  static BrokerSession open(String url, String schema) {
    // Build first: it checks the schema name before anything connects.
    Broker.create(new HikariDataSource()).schema(schema).migrate(false);
    HikariDataSource pool = Database.open(url, POOL_SIZE);
    try {
      requireInstalled(pool, schema, url);
      // Operators' commands never migrate: a schema upgrade is 'pgbroker migrate''s decision.
      return new BrokerSession(pool, Broker.create(pool).schema(schema).migrate(false).build());
    } catch (RuntimeException e) {
      pool.close();
      throw e;
    }
  }

  Broker broker() {
    return broker;
  }

  DataSource dataSource() {
    return pool;
  }

  /** The validated schema name, safe to put in SQL text. */
  String schema() {
    return broker.schema();
  }

  @Override
  public void close() {
    broker.close();
    pool.close();
  }

  private static void requireInstalled(DataSource ds, String schema, String url) {
    try (Connection c = ds.getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "select to_regclass(quote_ident(?) || '.schema_version') is not null")) {
      s.setString(1, schema);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        if (!rs.getBoolean(1)) {
          throw new CommandFailure(
              "pgbroker's schema '"
                  + schema
                  + "' is not installed in "
                  + Database.redact(url)
                  + "; create it with: pgbroker migrate --schema "
                  + schema);
        }
      }
    } catch (SQLException e) {
      throw new CommandFailure("cannot read the schema: " + e.getMessage(), e);
    }
  }
}
