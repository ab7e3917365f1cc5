package dev.pgbroker.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pgbroker.Broker;
import dev.pgbroker.Delivery;
import dev.pgbroker.ScheduledTask;
import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ConfigurableApplicationContext;

@ExtendWith(BrokerExtension.class)
class ScheduleTest {
  /** Ticks seen by every instance of the test, shared as a table would be. */
  static final List<String> TICKS = new CopyOnWriteArrayList<>();

  static final List<Map<String, Object>> REPORTS = new CopyOnWriteArrayList<>();

  static class Sweeper {
    @PgBrokerSchedule(name = "sweep", every = "${sweep.every}")
    void sweep(Delivery tick) {
      TICKS.add(tick.headers().get("pgbroker-tick"));
    }

    @PgBrokerListener(queue = "reports")
    void report(Map<String, Object> payload) {
      REPORTS.add(payload);
    }
  }

  @Test
  void aScheduleRunsOncePerTickAcrossInstances(TestSchema schema) {
    TICKS.clear();
    REPORTS.clear();
    ApplicationContextRunner app =
        Contexts.on(schema)
            .withPropertyValues(
                "sweep.every=1s",
                "pgbroker.schedules.daily.queue=reports",
                "pgbroker.schedules.daily.every=1s",
                "pgbroker.schedules.daily.payload={\"kind\": \"daily\"}")
            .withBean(Sweeper.class);
    // Two instances of the application, each with its worker firing due ticks.
    app.run(
        one ->
            app.run(
                two -> {
                  assertThat(one).hasNotFailed();
                  assertThat(two).hasNotFailed();
                  await().atMost(Duration.ofSeconds(30)).until(() -> TICKS.size() >= 4);
                  await().atMost(Duration.ofSeconds(30)).until(() -> REPORTS.size() >= 2);
                  Broker broker = one.getBean(Broker.class);
                  assertThat(broker.schedules().list())
                      .extracting(ScheduledTask::name)
                      .containsExactly("daily", "sweep");
                  stop(one, two);
                }));
    assertThat(TICKS).doesNotHaveDuplicates();
    assertThat(REPORTS).allSatisfy(r -> assertThat(r).isEqualTo(Map.of("kind", "daily")));
  }

  private static void stop(ConfigurableApplicationContext... contexts) {
    for (ConfigurableApplicationContext c : contexts) {
      c.stop(); // drains the workers, so no tick is handled after the check below
    }
  }

  @Test
  void badSchedulesAreNamedAtStart(TestSchema schema) {
    Contexts.on(schema)
        .withPropertyValues("pgbroker.schedules.daily.queue=reports")
        .run(
            context ->
                assertThat(context.getStartupFailure())
                    .hasStackTraceContaining(
                        "pgbroker.schedules.daily: give either cron or every, not neither"));
    Contexts.on(schema)
        .withPropertyValues(
            "pgbroker.schedules.daily.queue=reports", "pgbroker.schedules.daily.cron=61 * * * *")
        .run(
            context ->
                assertThat(context.getStartupFailure())
                    .hasStackTraceContaining("pgbroker.schedules.daily: "));
    Contexts.on(schema)
        .withPropertyValues("sweep.every=soon")
        .withBean(Sweeper.class)
        .run(
            context ->
                assertThat(context.getStartupFailure())
                    .hasStackTraceContaining(
                        "@PgBrokerSchedule on Sweeper.sweep: every = 'soon' is not a duration"));
  }
}
