package dev.pgbroker.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgbroker.Broker;
import dev.pgbroker.QueueOptions;
import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestDatabase;
import dev.pgbroker.testing.TestSchema;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

@ExtendWith(BrokerExtension.class)
class AutoConfigurationTest {

  @Test
  void defaults() {
    // Without pgbroker.* properties, except migrate=false: the shared test server's own
    // "pgbroker" schema is other tests' business and stays untouched.
    new ApplicationContextRunner()
        .withConfiguration(
            AutoConfigurations.of(
                DataSourceAutoConfiguration.class, PgBrokerAutoConfiguration.class))
        .withPropertyValues(
            "spring.datasource.url=" + TestDatabase.jdbcUrl(), "pgbroker.migrate=false")
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              assertThat(context.getBean(Broker.class).schema()).isEqualTo("pgbroker");
              assertThat(context).hasSingleBean(PgBrokerTemplate.class);
              PgBrokerProperties p = context.getBean(PgBrokerProperties.class);
              assertThat(p.getQueues()).isEmpty();
              assertThat(p.getWorker().getConcurrency()).isEqualTo(8);
              assertThat(p.getWorker().getDrainTimeout()).isEqualTo(Duration.ofSeconds(30));
              assertThat(p.getHealth().getDeadLetterThreshold()).isZero();
            });
  }

  @Test
  void propertiesMigrateASchemaAndCreateQueues(TestSchema schema) {
    String fresh = schema.name() + "_fresh";
    try {
      Contexts.on(fresh)
          .withPropertyValues(
              "pgbroker.queues.payments.visibility-timeout=45s",
              "pgbroker.queues.payments.max-attempts=7",
              "pgbroker.queues.payments.backoff-schedule=1s,10s,1m",
              "pgbroker.queues.payments.retention=1h",
              "pgbroker.queues.emails.backoff-base=2s",
              "pgbroker.queues.emails.backoff-max=5m",
              "pgbroker.queues.emails.dead-letter=false")
          .run(
              context -> {
                assertThat(context).hasNotFailed();
                Broker broker = context.getBean(Broker.class);
                assertThat(broker.schema()).isEqualTo(fresh);
                assertThat(schema.count("select max(version) from " + fresh + ".schema_version"))
                    .isEqualTo(Broker.SCHEMA_VERSION);
                assertThat(broker.queues()).containsExactly("emails", "payments");
                QueueOptions payments = broker.queueOptions("payments");
                assertThat(payments.visibilityTimeout()).isEqualTo(Duration.ofSeconds(45));
                assertThat(payments.maxAttempts()).isEqualTo(7);
                assertThat(payments.backoffSchedule())
                    .containsExactly(
                        Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofMinutes(1));
                assertThat(payments.retention()).isEqualTo(Duration.ofHours(1));
                QueueOptions emails = broker.queueOptions("emails");
                assertThat(emails.backoffBase()).isEqualTo(Duration.ofSeconds(2));
                assertThat(emails.backoffMax()).isEqualTo(Duration.ofMinutes(5));
                assertThat(emails.deadLetter()).isFalse();
              });
    } finally {
      schema.execute("drop schema if exists " + fresh + " cascade");
    }
  }

  @Test
  void migrateFalseLeavesTheDatabaseAlone(TestSchema schema) {
    String fresh = schema.name() + "_untouched";
    Contexts.on(fresh)
        .withPropertyValues("pgbroker.migrate=false")
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              assertThat(
                      schema.count(
                          "select count(*) from pg_namespace where nspname = '" + fresh + "'"))
                  .isZero();
            });
  }

  @Test
  void aBadQueueSettingNamesItsPropertyAndCreatesNoQueue(TestSchema schema) {
    Contexts.on(schema)
        .withPropertyValues(
            "pgbroker.queues.good.max-attempts=3", "pgbroker.queues.payments.max-attempts=0")
        .run(
            context -> {
              assertThat(context).hasFailed();
              assertThat(context.getStartupFailure())
                  .hasStackTraceContaining(
                      "pgbroker.queues.payments.max-attempts = 0: maxAttempts");
            });
    assertThat(schema.broker().queues()).isEmpty();
  }

  @Test
  void backoffStylesExcludeEachOther(TestSchema schema) {
    Contexts.on(schema)
        .withPropertyValues(
            "pgbroker.queues.payments.backoff-schedule=1s",
            "pgbroker.queues.payments.backoff-base=1s",
            "pgbroker.queues.payments.backoff-max=1m")
        .run(
            context ->
                assertThat(context.getStartupFailure())
                    .rootCause()
                    .hasMessageContaining("pgbroker.queues.payments.backoff-schedule"));
  }

  @Test
  void aBadSchemaNameIsRefused(TestSchema schema) {
    Contexts.on("Bad Schema")
        .run(
            context ->
                assertThat(context.getStartupFailure())
                    .hasStackTraceContaining("pgbroker.schema: ")
                    .hasStackTraceContaining("Bad Schema"));
  }

  @Test
  void disabledConfiguresNothing(TestSchema schema) {
    Contexts.on(schema)
        .withPropertyValues("pgbroker.enabled=false")
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              assertThat(context).doesNotHaveBean(Broker.class);
              assertThat(context).doesNotHaveBean(PgBrokerTemplate.class);
            });
  }

  @Test
  void anApplicationBrokerWins(TestSchema schema) {
    Contexts.on(schema)
        .withBean("myBroker", Broker.class, schema::broker)
        .run(
            context ->
                assertThat(context.getBeansOfType(Broker.class).keySet())
                    .isEqualTo(Set.of("myBroker")));
  }
}
