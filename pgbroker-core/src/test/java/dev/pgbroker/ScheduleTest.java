package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.JavaProcess;
import dev.pgbroker.testing.TestDatabase;
import dev.pgbroker.testing.TestSchema;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Recurring schedules: one message per tick across processes and kills, failures, the API. */
@ExtendWith(BrokerExtension.class)
class ScheduleTest {

  @Test
  @Tag("slow")
  void threeProcessesSendExactlyOneMessagePerTickWhileOneIsKilled(Broker broker, TestSchema s)
      throws Exception {
    broker.createQueue("ticks");
    s.execute(
        "create table %s.ticked (tick text not null, message bigint not null, instance text not"
            + " null)");
    List<Process> instances = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        instances.add(
            JavaProcess.start(ScheduleProcess.class, TestDatabase.jdbcUrl(), s.name(), "i" + i));
      }
      awaitTicks(s, 8);
      instances.get(0).destroyForcibly().waitFor(); // SIGKILL, mid-run
      long atKill = s.count("select count(*) from %s.schedule_tick");
      awaitTicks(s, atKill + 14);
      broker.schedules().pause("every-second"); // no tick after this commits
      Awaitility.await() // the survivors handle the last ticks' messages
          .atMost(Duration.ofSeconds(60))
          .until(() -> s.count("select count(*) from %s.message") == 0);
    } finally {
      instances.forEach(Process::destroyForcibly);
      for (Process p : instances) {
        p.waitFor();
      }
    }

    long ticks = s.count("select count(*) from %s.schedule_tick");
    assertThat(ticks).isGreaterThanOrEqualTo(20);
    assertThat(s.count("select count(distinct tick_at) from %s.schedule_tick")).isEqualTo(ticks);
    assertThat(
            s.count(
                "select count(*) from (select tick_at - lag(tick_at) over (order by tick_at) gap"
                    + " from %s.schedule_tick) g where gap <> interval '1 second'"))
        .as("ticks that are not exactly one second after the one before (gaps or doubles)")
        .isZero();
    assertThat(s.count("select count(*) from %s.ticked"))
        .as("tick messages handled")
        .isEqualTo(ticks);
    assertThat(s.count("select count(distinct tick) from %s.ticked")).isEqualTo(ticks);
    assertThat(s.count("select count(distinct instance) from %s.ticked"))
        .as("instances that handled ticks")
        .isGreaterThanOrEqualTo(2);
  }

  @Test
  void aTickWhoseHandlerAlwaysFailsDoesNotStopLaterTicks(Broker broker, TestSchema s) {
    broker.createQueue("flaky", QueueOptions.defaults().maxAttempts(1));
    broker.schedules().put("doomed", "flaky", Schedule.every(Duration.ofSeconds(1)));
    try (Worker w =
        broker
            .worker()
            .handle(
                "flaky",
                d -> {
                  throw new IllegalStateException("always fails");
                })
            .start()) {
      Awaitility.await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> broker.stats("flaky").dead() >= 4);
    }
    assertThat(broker.deadLetters("flaky").list(10))
        .allSatisfy(d -> assertThat(d.headers()).containsKey("pgbroker-tick"));
    assertThat(broker.schedules().list().get(0).nextRun()).isAfter(Instant.now().minusSeconds(2));
  }

  @Test
  void missedTicksAreSkippedOrCaughtUpOldestFirstWithinTheBound(Broker broker, TestSchema s)
      throws Exception {
    broker.createQueue("daily");
    // A daily tick half a day from now, so that none is due within the grace of this run.
    ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
    ZonedDateTime last = now.plusHours(12).truncatedTo(ChronoUnit.HOURS).minusDays(1);
    String daily = "0 " + last.getHour() + " * * *";
    broker.schedules().put("skip", "daily", Schedule.cron(daily).payload(Map.of("s", 1)));
    broker
        .schedules()
        .put("catch", "daily", Schedule.cron(daily).payload(Map.of("s", 2)).catchUp(2));
    // As if every instance had been down for five days: the next tick is five ticks ago.
    String ticksAgo = "'" + last + "'::timestamptz - interval '%d days'";
    s.execute("update %s.schedule set next_at = " + ticksAgo.formatted(4));
    s.execute("select %s.fire_schedules()");

    assertThat(s.count("select count(*) from %s.schedule_tick where schedule = 'skip'")).isZero();
    assertThat(
            s.count(
                "select count(*) from %s.schedule_tick where schedule = 'catch' and tick_at in ("
                    + ticksAgo.formatted(4)
                    + ", "
                    + ticksAgo.formatted(3)
                    + ")"))
        .as("the two oldest missed ticks")
        .isEqualTo(2);
    assertThat(s.count("select count(*) from %s.message")).isEqualTo(2);
    assertThat(broker.schedules().list())
        .allSatisfy(t -> assertThat(t.nextRun()).isAfter(Instant.now()));
  }

  @Test
  void withNoScheduleRunningTheFirerIsToldToWaitItsLongest(Broker broker, TestSchema s) {
    String nextIn = "select coalesce(next_in_ms, -1) from %s.fire_schedules()"; // -1: null
    assertThat(s.count(nextIn)).as("no schedule").isEqualTo(-1);
    broker.createQueue("daily");
    broker.schedules().put("d", "daily", Schedule.cron("0 3 * * *"));
    assertThat(s.count(nextIn)).as("one a few hours away").isPositive();
    broker.schedules().pause("d");
    assertThat(s.count(nextIn)).as("only a paused one").isEqualTo(-1);
  }

  @Test
  void schedulesAreListedPausedResumedChangedAndRemoved(Broker broker, TestSchema s) {
    broker.createQueue("reports");
    Instant start = Instant.now();
    Instant next =
        broker
            .schedules()
            .put(
                "morning",
                "reports",
                Schedule.cron("30 8 * * MON-FRI", ZoneId.of("Europe/Berlin")));
    assertThat(next).isAfter(start);
    assertThat(
            broker
                .schedules()
                .put(
                    "morning",
                    "reports",
                    Schedule.cron("30 8 * * MON-FRI", ZoneId.of("Europe/Berlin"))
                        .payload(Map.of("v", 2))))
        .as("same timing: the next tick stays")
        .isEqualTo(next);
    // Berlin is a whole number of hours from UTC, so the old timing ticks at half past and the
    // new one on the hour: they can never share a next tick, whatever the time of the run.
    Instant before = Instant.now();
    Instant hourly = broker.schedules().put("morning", "reports", Schedule.cron("@hourly"));
    Instant after = Instant.now();
    assertThat(hourly)
        .as("new timing: a new next tick")
        .isAfter(before)
        .isBeforeOrEqualTo(after.plus(Duration.ofHours(1)))
        .isEqualTo(hourly.truncatedTo(ChronoUnit.HOURS));
    broker.schedules().put("often", "reports", Schedule.every(Duration.ofMinutes(5)));

    assertThat(broker.schedules().list())
        .extracting(ScheduledTask::name, ScheduledTask::cron, ScheduledTask::every)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("morning", "@hourly", null),
            org.assertj.core.groups.Tuple.tuple("often", null, Duration.ofMinutes(5)));
    assertThat(broker.schedules().pause("often")).isTrue();
    assertThat(broker.schedules().list().get(1).paused()).isTrue();
    assertThat(broker.schedules().resume("often")).isTrue();
    assertThat(broker.schedules().list().get(1).paused()).isFalse();
    assertThat(broker.schedules().remove("often")).isTrue();
    assertThat(broker.schedules().remove("often")).isFalse();
    assertThat(broker.schedules().pause("often")).isFalse();
    assertThat(broker.deleteQueue("reports")).isTrue();
    assertThat(broker.schedules().list()).as("a schedule goes with its queue").isEmpty();
  }

  @Test
  void badSchedulesAreRefusedAndChangeNothing(Broker broker, TestSchema s) {
    broker.createQueue("q");
    assertThatThrownBy(() -> broker.schedules().put("s", "q", Schedule.cron("61 * * * *")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cron minute field '61' is invalid");
    assertThatThrownBy(() -> broker.schedules().put("s", "q", Schedule.cron("* * * *")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("a cron expression has 5 fields");
    assertThatThrownBy(() -> broker.schedules().put("s", "q", Schedule.cron("0 0 31 2 *")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("never fires");
    assertThatThrownBy(() -> broker.schedules().put("s", "missing", Schedule.cron("@daily")))
        .isInstanceOf(UnknownQueueException.class);
    assertThatThrownBy(() -> Schedule.every(Duration.ofMillis(500)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("interval must be from 1 s");
    assertThatThrownBy(() -> Schedule.cron("@daily").options(SendOptions.none().dedupKey("k")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no dedup key");
    assertThatThrownBy(() -> broker.schedules().put("Bad Name", "q", Schedule.cron("@daily")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("invalid schedule name");
    assertThat(broker.schedules().list()).isEmpty();
  }

  @Test
  void theSqlFaceSchedulesAndRefusesBadTimeZones(TestSchema s, DataSource ds) throws Exception {
    try (Connection c = ds.getConnection();
        PreparedStatement create =
            c.prepareStatement("select " + s.name() + ".create_queue('q')")) {
      create.execute();
      Instant start = Instant.now();
      try (PreparedStatement ps =
              c.prepareStatement(
                  "select "
                      + s.name()
                      + ".schedule('nightly', 'q', '{\"cron\": \"30 2 * * *\", \"time_zone\":"
                      + " \"America/New_York\", \"payload\": {\"job\": \"cleanup\"}, \"options\":"
                      + " {\"type\": \"job\"}}')");
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        assertThat(rs.getObject(1, java.time.OffsetDateTime.class).toInstant()).isAfter(start);
      }
      try (PreparedStatement bad =
          c.prepareStatement(
              "select "
                  + s.name()
                  + ".schedule('x', 'q', '{\"cron\": \"@daily\", \"time_zone\": \"Mars/Base\"}')")) {
        assertThatThrownBy(bad::execute).hasMessageContaining("time_zone must be a zone name");
      }
    }
    assertThat(s.count("select count(*) from %s.schedule")).isEqualTo(1);
  }

  private static void awaitTicks(TestSchema s, long ticks) {
    Awaitility.await()
        .atMost(Duration.ofSeconds(ticks + 60))
        .until(() -> s.count("select count(*) from %s.schedule_tick") >= ticks);
  }
}
