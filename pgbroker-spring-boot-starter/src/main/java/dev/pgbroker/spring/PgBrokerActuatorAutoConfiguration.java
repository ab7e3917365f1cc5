package dev.pgbroker.spring;

import dev.pgbroker.Broker;
import dev.pgbroker.micrometer.PgBrokerMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import javax.sql.DataSource;
import org.springframework.boot.actuate.autoconfigure.health.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * With Spring Boot Actuator: the {@code pgbroker} health indicator, and pgbroker's meters ({@link
 * PgBrokerMetrics}: queue gauges and counters read from the database, handler timers of this
 * instance's listeners) in the application's MeterRegistry.
 */
@AutoConfiguration(after = PgBrokerAutoConfiguration.class)
@ConditionalOnBean(Broker.class)
public class PgBrokerActuatorAutoConfiguration {

  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(HealthIndicator.class)
  @ConditionalOnEnabledHealthIndicator("pgbroker")
  static class HealthConfiguration {
    @Bean
    @ConditionalOnMissingBean(name = "pgbrokerHealthIndicator")
    HealthIndicator pgbrokerHealthIndicator(
        Broker broker, DataSource dataSource, PgBrokerProperties properties) {
      return new PgBrokerHealthIndicator(
          broker, dataSource, properties.getHealth().getDeadLetterThreshold());
    }
  }

  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(MeterRegistry.class)
  static class MetricsConfiguration {
    /**
     * Bound to the MeterRegistry by Spring Boot as a MeterBinder, and told of every handling by the
     * listener worker as a WorkerListener (handler and end-to-end timers).
     */
    @Bean
    @ConditionalOnMissingBean
    PgBrokerMetrics pgbrokerMetrics(Broker broker) {
      return new PgBrokerMetrics(broker);
    }
  }
}
