package dev.pgbroker.spring;

import dev.pgbroker.Broker;
import dev.pgbroker.QueueStats;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.sql.DataSource;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;

/**
 * DOWN when the database cannot be reached, when the schema is not at the version this pgbroker
 * needs, or when a queue holds more dead letters than {@code
 * pgbroker.health.dead-letter-threshold}; the details name the schema version and each queue's dead
 * letters.
 */
final class PgBrokerHealthIndicator extends AbstractHealthIndicator {
  private final Broker broker;
  private final DataSource dataSource;
  private final long deadLetterThreshold;

  PgBrokerHealthIndicator(Broker broker, DataSource dataSource, long deadLetterThreshold) {
    super("pgbroker health check failed");
    this.broker = broker;
    this.dataSource = dataSource;
    this.deadLetterThreshold = deadLetterThreshold;
  }

  @Override
  protected void doHealthCheck(Health.Builder builder) throws Exception {
    int version = schemaVersion();
    builder
        .withDetail("schema", broker.schema())
        .withDetail("schemaVersion", version)
        .withDetail("requiredSchemaVersion", Broker.SCHEMA_VERSION);
    if (version != Broker.SCHEMA_VERSION) {
      builder
          .down()
          .withDetail(
              "error",
              "schema "
                  + broker.schema()
                  + " is at version "
                  + version
                  + ", this pgbroker needs "
                  + Broker.SCHEMA_VERSION
                  + "; run the migrations (pgbroker.migrate=true, or pgbroker migrate)");
      return;
    }
    Map<String, Long> dead = new LinkedHashMap<>();
    Map<String, Long> over = new LinkedHashMap<>();
    for (String queue : broker.queues()) {
      QueueStats s = broker.stats(queue);
      dead.put(queue, s.dead());
      if (deadLetterThreshold >= 0 && s.dead() > deadLetterThreshold) {
        over.put(queue, s.dead());
      }
    }
    builder.withDetail("deadLetters", dead);
    if (over.isEmpty()) {
      builder.up();
    } else {
      builder
          .down()
          .withDetail(
              "error",
              "dead letters over the threshold of "
                  + deadLetterThreshold
                  + " in "
                  + over
                  + "; inspect and replay or purge them");
    }
  }

  /** 0 when the schema has no version table yet (never migrated). */
  private int schemaVersion() throws SQLException {
    // The schema name was validated by the Broker's builder.
    String table = broker.schema() + ".schema_version";
    try (Connection c = dataSource.getConnection();
        Statement st = c.createStatement()) {
      try (ResultSet rs = st.executeQuery("select to_regclass('" + table + "') is not null")) {
        rs.next();
        if (!rs.getBoolean(1)) {
          return 0;
        }
      }
      try (ResultSet rs = st.executeQuery("select coalesce(max(version), 0) from " + table)) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }
}
