package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgbroker.testing.BrokerExtension;
import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/** What the notifier sends on a real server's channel, counted by a listening connection. */
@ExtendWith(BrokerExtension.class)
class NotifierTest {
  /**
   * Sends inside transactions that go on without a 2 ms pause each start the follow-up schedule
   * over, so it alone would notify nobody until they stop; a message another transaction committed
   * meanwhile would wait for the workers' poll. The notifier still notifies at least every 10 ms.
   */
  @Test
  void aSteadyStreamOfSendsInsideTransactionsIsNotifiedAsItGoesOn(DataSource ds) throws Exception {
    String channel = "notifier_test";
    Notifier notifier = new Notifier(ds, channel);
    int during;
    try (Connection listen = ds.getConnection()) {
      execute(listen, "listen " + channel);
      try {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
        while (System.nanoTime() < end) {
          notifier.changedInTransaction("stream");
          LockSupport.parkNanos(200_000); // a send every fifth of a millisecond or so
        }
        during = notifications(listen, 1);
      } finally {
        notifier.close();
        // The connection goes back to the pool: leave it listening to nothing, with nothing queued.
        execute(listen, "unlisten *");
        while (notifications(listen, 50) > 0) {}
      }
    }

    assertThat(during).as("notifications during 500 ms of sends").isGreaterThanOrEqualTo(10);
  }

  private static void execute(Connection c, String sql) throws Exception {
    try (Statement st = c.createStatement()) {
      st.execute(sql);
    }
  }

  private static int notifications(Connection listen, int waitMs) throws Exception {
    PGNotification[] got = listen.unwrap(PGConnection.class).getNotifications(waitMs);
    return got == null ? 0 : got.length;
  }
}
