package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestDatabase;
import dev.pgbroker.testing.TestSchema;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * An extend checks that its lease is unexpired when its statement looks at the row, but a reader
 * may decide the key is free once the lease has run out by the clock, before that extend commits.
 * Then the key has two live leases: the one the reader just gave out and the one the extend
 * revived. It takes a key whose leased message is not its earliest (a late commit or a replay) and
 * an extend whose transaction lasts past the old lease's end: an extend inside an SQL caller's
 * transaction, or the worker's heartbeat statement waiting on a row lock that a read inside an open
 * transaction holds on another key's message.
 */
@ExtendWith(BrokerExtension.class)
class LeaseExtendRaceTest {

  @Test
  void anExtendInAnOpenTransactionCannotReviveALeaseOnceItsKeyMovedOn(Broker broker, TestSchema s)
      throws Exception {
    broker.createQueue("q");
    try (HikariDataSource ds = TestDatabase.pool(TestDatabase.jdbcUrl(), 2);
        Connection late = ds.getConnection();
        Connection extender = ds.getConnection()) {
      late.setAutoCommit(false);
      long older = broker.send(late, "q", "older", key("k"));
      long newer = broker.send("q", "newer", key("k"));
      Delivery held = broker.read("q", 10, Duration.ofMillis(300)).get(0);
      assertThat(held.id()).isEqualTo(newer);
      late.commit(); // the older message is visible now, behind the leased newer one

      extender.setAutoCommit(false);
      assertThat(extend(extender, s, List.of(held))).as("extended while live").isTrue();
      awaitRunOut(s, newer); // by the database clock, as the committed row tells it

      List<Delivery> second = broker.read("q", 10, Duration.ofSeconds(60));
      extender.commit();

      assertThat(liveLeases(s, "k"))
          .as(
              "live leases on key k; the second read got %s (older is %s); rows: %s",
              second, older, RaceLog.rows(s, "k"))
          .isLessThanOrEqualTo(1);
    }
  }

  @Test
  void aHeartbeatWaitingOnAnotherKeysRowCannotReviveALeaseOnceItsKeyMovedOn(
      Broker broker, TestSchema s) throws Exception {
    broker.createQueue("q");
    try (HikariDataSource ds = TestDatabase.pool(TestDatabase.jdbcUrl(), 4);
        Connection late = ds.getConnection();
        Connection openReader = ds.getConnection();
        Connection heartbeat = ds.getConnection()) {
      late.setAutoCommit(false);
      long older = broker.send(late, "q", "older", key("k1"));
      broker.send("q", "newer", key("k1"));
      broker.send("q", "x", key("k2"));
      List<Delivery> held = broker.read("q", 10, Duration.ofMillis(1500)); // a worker's fetch
      assertThat(held).extracting(Delivery::orderingKey).containsExactly("k1", "k2");
      broker.send("q", "y", key("k2"));

      // A read in an open transaction parks y behind x, share-locking x until it commits.
      openReader.setAutoCommit(false);
      try (PreparedStatement ps =
          openReader.prepareStatement("select id from " + s.name() + ".read('q', 1, 60000)")) {
        assertThat(ps.executeQuery().next()).as("y is held behind x").isFalse();
      }
      late.commit(); // the older message of k1 is visible now, behind the leased newer one

      // The heartbeat extends both held deliveries in one statement: it extends newer, then waits
      // on x's row.
      CompletableFuture<Boolean> beat =
          CompletableFuture.supplyAsync(() -> extend(heartbeat, s, held));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () ->
                  s.count(
                          "select count(*) from pg_stat_activity where wait_event_type = 'Lock'"
                              + " and query like '%%s._extend%'")
                      == 1); // the heartbeat waits on x's row
      awaitRunOut(s, held.get(0).id());

      List<Delivery> second = broker.read("q", 10, Duration.ofSeconds(60));
      openReader.commit();
      assertThat(beat.get(10, TimeUnit.SECONDS)).isTrue();

      assertThat(liveLeases(s, "k1"))
          .as(
              "live leases on key k1; the second read got %s (older is %s); rows: %s",
              second, older, RaceLog.rows(s, "k1"))
          .isLessThanOrEqualTo(1);
    }
  }

  private static SendOptions key(String key) {
    return SendOptions.none().orderingKey(key);
  }

  /** What the worker's heartbeat runs: one extend over every delivery it holds, for 60 s. */
  private static boolean extend(Connection c, TestSchema s, List<Delivery> ds) {
    try (PreparedStatement ps =
        c.prepareStatement("select count(*) from " + s.name() + "._extend('q', ?, ?, 60000)")) {
      ps.setArray(1, c.createArrayOf("bigint", ds.stream().map(Delivery::id).toArray()));
      ps.setArray(2, c.createArrayOf("uuid", ds.stream().map(Delivery::lease).toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1) == ds.size();
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void awaitRunOut(TestSchema s, long id) {
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                s.count(
                        "select count(*) from %s.message where id = "
                            + id
                            + " and visible_at <= clock_timestamp()")
                    == 1);
  }

  private static long liveLeases(TestSchema s, String key) {
    return s.count(
        "select count(distinct lease) from %s.message where ordering_key = '"
            + key
            + "' and lease is not null and visible_at > clock_timestamp()");
  }
}
