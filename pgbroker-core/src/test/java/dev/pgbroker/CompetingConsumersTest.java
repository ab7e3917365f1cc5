package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.JavaProcess;
import dev.pgbroker.testing.TestDatabase;
import dev.pgbroker.testing.TestSchema;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** N messages in, several consumers; count that each was processed exactly once. */
@Tag("slow")
@ExtendWith(BrokerExtension.class)
class CompetingConsumersTest {
  private static final int MESSAGES = 20_000;

  @Test
  void fourConsumerThreadsProcessEachMessageExactlyOnce(Broker broker, DataSource ds, TestSchema s)
      throws Exception {
    fill(broker, s);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    List<Future<?>> consumers = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      String name = "thread-" + i;
      consumers.add(
          pool.submit(
              () -> {
                int idle = 0;
                while (idle < 20) {
                  List<Delivery> batch = broker.read("work", 100);
                  if (batch.isEmpty()) {
                    idle++;
                    Thread.sleep(25);
                    continue;
                  }
                  idle = 0;
                  DrainProcess.record(ds, broker, s.name(), name, batch);
                }
                return null;
              }));
    }
    for (Future<?> f : consumers) {
      f.get(5, TimeUnit.MINUTES);
    }
    pool.shutdown();

    assertExactlyOnce(s, 4);
  }

  @Test
  void twoConsumerProcessesProcessEachMessageExactlyOnce(Broker broker, TestSchema s)
      throws Exception {
    fill(broker, s);
    List<Process> processes = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      processes.add(
          javaProcess(
              DrainProcess.class, TestDatabase.jdbcUrl(), s.name(), "work", "process-" + i));
    }
    for (Process p : processes) {
      assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("consumer process finished").isTrue();
      assertThat(p.exitValue()).isZero();
    }

    assertExactlyOnce(s, 2);
  }

  private static void fill(Broker broker, TestSchema s) {
    broker.createQueue("work");
    s.execute("create table %s.processed (id bigint not null, consumer text not null)");
    for (int i = 0; i < MESSAGES; i += 1000) {
      broker.sendBatch("work", IntStream.range(i, i + 1000).boxed().toList());
    }
  }

  private static void assertExactlyOnce(TestSchema s, int consumers) {
    assertThat(s.count("select count(*) from %s.processed")).isEqualTo(MESSAGES);
    assertThat(s.count("select count(distinct id) from %s.processed"))
        .as("none twice")
        .isEqualTo(MESSAGES);
    assertThat(s.count("select count(distinct consumer) from %s.processed"))
        .as("every consumer took a share")
        .isEqualTo(consumers);
    assertThat(s.count("select count(*) from %s.message")).as("none left").isZero();
  }

  /** Starts {@code main} in a new JVM with this test's classpath; its output goes to ours. */
  static Process javaProcess(Class<?> main, String... args) throws Exception {
    return JavaProcess.start(main, args);
  }
}
