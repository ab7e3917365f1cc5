package dev.pgbroker.spring;

import dev.pgbroker.testing.TestDatabase;
import dev.pgbroker.testing.TestSchema;
import org.springframework.boot.actuate.autoconfigure.health.HealthContributorAutoConfiguration;
import org.springframework.boot.actuate.autoconfigure.health.HealthEndpointAutoConfiguration;
import org.springframework.boot.actuate.autoconfigure.metrics.MetricsAutoConfiguration;
import org.springframework.boot.actuate.autoconfigure.metrics.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.jackson.JacksonAutoConfiguration;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.autoconfigure.jdbc.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.autoconfigure.jdbc.JdbcTemplateAutoConfiguration;
import org.springframework.boot.autoconfigure.transaction.TransactionAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** Spring Boot applications as the tests start them: Boot's own auto-configuration and ours. */
final class Contexts {
  private Contexts() {}

  /** An application on the test database whose pgbroker schema is {@code schema}'s. */
  static ApplicationContextRunner on(TestSchema schema) {
    return on(schema.name());
  }

  static ApplicationContextRunner on(String schema) {
    return new ApplicationContextRunner()
        .withConfiguration(
            AutoConfigurations.of(
                DataSourceAutoConfiguration.class,
                DataSourceTransactionManagerAutoConfiguration.class,
                JdbcTemplateAutoConfiguration.class,
                TransactionAutoConfiguration.class,
                JacksonAutoConfiguration.class,
                HealthContributorAutoConfiguration.class,
                HealthEndpointAutoConfiguration.class,
                MetricsAutoConfiguration.class,
                SimpleMetricsExportAutoConfiguration.class,
                PgBrokerAutoConfiguration.class,
                PgBrokerActuatorAutoConfiguration.class))
        .withPropertyValues(
            "spring.datasource.url=" + TestDatabase.jdbcUrl(),
            "pgbroker.schema=" + schema,
            "pgbroker.worker.poll-interval=200ms");
  }
}
