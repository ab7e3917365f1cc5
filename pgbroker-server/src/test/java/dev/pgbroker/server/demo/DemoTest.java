package dev.pgbroker.server.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.Broker;
import dev.pgbroker.server.Schemas;
import dev.pgbroker.testing.TestDatabase;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DemoTest {
  private final String schema = Schemas.unique("demo_test");
  // The shared test pool is smaller than the demo's three workers need.
  private final HikariDataSource pool = TestDatabase.pool(TestDatabase.jdbcUrl(), Demo.POOL_SIZE);
  private final StringWriter out = new StringWriter();

  @AfterEach
  void closePoolAndDropSchemas() {
    pool.close();
    Schemas.drop(schema, schema + "_demo");
  }

  @Test
  void everyPaymentIsProcessedOnceAndThePoisonOneIsDeadLetteredThenReplayed() throws Exception {
    Summary summary;
    try (Broker broker = Broker.create(pool).schema(schema).build()) {
      Demo demo =
          new Demo(
              broker,
              pool,
              new PrintWriter(out, true),
              500,
              Duration.ofMillis(2),
              System.nanoTime());
      summary = demo.runStages();
    }

    assertThat(summary.problems()).as(out.toString()).isEmpty();
    assertThat(summary)
        .as(out.toString())
        .extracting(
            Summary::sent,
            Summary::processedOnce,
            Summary::duplicates,
            Summary::lost,
            Summary::deadLettered,
            Summary::replayed)
        .containsExactly(500, 500L, 0L, 0L, 1L, 1);
    assertThat(out.toString())
        .contains("other connections see 0 messages")
        .contains("queue holds 0 messages, read returns 0, sent counter is 0")
        .contains("read right away returns nothing")
        .contains("failed 3 times and moved to the dead-letter store")
        .contains("attempt 3 at +", "has no currency (in consumer-");
  }
}
