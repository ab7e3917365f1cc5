package dev.pgbroker.spring;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.pgbroker.Broker;
import dev.pgbroker.WorkerListener;
import java.util.Map;
import javax.sql.DataSource;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.jackson.JacksonAutoConfiguration;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;

/**
 * A {@link Broker} over the application's DataSource (migrated on start unless {@code
 * pgbroker.migrate=false}), the queues of {@code pgbroker.queues.*}, a {@link PgBrokerTemplate}
 * whose sends join Spring transactions, and a worker for {@link PgBrokerListener} methods.
 */
@AutoConfiguration(after = {DataSourceAutoConfiguration.class, JacksonAutoConfiguration.class})
@ConditionalOnBean(DataSource.class)
@ConditionalOnProperty(prefix = "pgbroker", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties(PgBrokerProperties.class)
public class PgBrokerAutoConfiguration {

  @Bean
  @ConditionalOnMissingBean
  Broker pgBroker(
      DataSource dataSource, PgBrokerProperties properties, ObjectProvider<ObjectMapper> mapper) {
    Broker.Builder builder;
    try {
      builder = Broker.create(dataSource).schema(properties.getSchema());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("pgbroker.schema: " + e.getMessage(), e);
    }
    Broker broker = builder.objectMapper(mapper(mapper)).migrate(properties.isMigrate()).build();
    for (Map.Entry<String, PgBrokerProperties.Queue> q : properties.getQueues().entrySet()) {
      // Checked first, so a bad setting creates no queue at all.
      PgBrokerProperties.options(q.getKey(), q.getValue());
    }
    for (Map.Entry<String, PgBrokerProperties.Queue> q : properties.getQueues().entrySet()) {
      broker.createQueue(q.getKey(), PgBrokerProperties.options(q.getKey(), q.getValue()));
    }
    return broker;
  }

  @Bean
  @ConditionalOnMissingBean
  PgBrokerTemplate pgBrokerTemplate(Broker broker, DataSource dataSource) {
    return new PgBrokerTemplate(broker, dataSource);
  }

  /** The application's mapper; without Spring's Jackson support, one that knows java.time. */
  private static ObjectMapper mapper(ObjectProvider<ObjectMapper> application) {
    return application.getIfAvailable(
        () -> JsonMapper.builder().addModule(new JavaTimeModule()).build());
  }

  @Bean
  static ListenerRegistry pgBrokerListenerRegistry(Environment environment) {
    return new ListenerRegistry(environment);
  }

  @Bean
  ListenerContainer pgBrokerListenerContainer(
      Broker broker,
      DataSource dataSource,
      ObjectProvider<ObjectMapper> mapper,
      PgBrokerProperties properties,
      ListenerRegistry registry,
      ObjectProvider<WorkerListener> listeners) {
    return new ListenerContainer(
        broker,
        mapper(mapper),
        properties,
        registry,
        new ListenerTransactions(dataSource),
        listeners.orderedStream().toList());
  }
}
