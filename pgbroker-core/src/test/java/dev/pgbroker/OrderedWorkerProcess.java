package dev.pgbroker;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.testing.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import javax.sql.DataSource;

/**
 * A consumer JVM for {@link OrderingRaceTest}: a worker on one queue that records each handling in
 * {@code <schema>.event} (a 'start' row when the handler begins, an 'end' row with whether its
 * lease was still live just before it settles, a 'lost' row when the worker hears its lease ran
 * out). Payloads marked {@code poison} fail until their id is in {@code <schema>.cured}. Runs until
 * SIGTERM, which drains it. Args: jdbcUrl schema queue consumerName plain|tx concurrency.
 */
public final class OrderedWorkerProcess {
  /** What {@link OrderingRaceTest} sends: poison messages fail until cured. */
  record Payload(String key, boolean poison) {}

  /** How long each handler holds its delivery, to widen race windows: 3 to 12 ms. */
  static final int MIN_HOLD_MS = 3;

  static final int MAX_HOLD_MS = 12;

  public static void main(String[] args) throws Exception {
    String schema = args[1];
    String queue = args[2];
    String name = args[3];
    boolean inTransaction = args[4].equals("tx");
    int concurrency = Integer.parseInt(args[5]);
    HikariDataSource ds = TestDatabase.pool(args[0], 12);
    Events events = new Events(ds, schema, name);
    Broker broker = Broker.create(ds).schema(schema).migrate(false).build();
    Worker.Builder worker = broker.worker();
    if (inTransaction) {
      worker.handleInTransaction(
          queue,
          (tx, d) -> {
            events.start(d); // on a connection of its own: kept even when the ack is refused
            hold();
            if (events.failsNow(d)) {
              events.end(null, d, false); // on its own connection: tx rolls back
              throw new IllegalStateException("poison " + d.id());
            }
            // Written with the ack: a lease refused at the ack leaves no 'end' row.
            events.end(tx, d, true);
          });
    } else {
      worker.handle(
          queue,
          d -> {
            events.start(d);
            hold();
            boolean ok = !events.failsNow(d);
            events.end(null, d, ok);
            if (!ok) {
              throw new IllegalStateException("poison " + d.id());
            }
          });
    }
    worker
        .concurrency(queue, concurrency)
        .listener(
            new WorkerListener() {
              @Override
              public void leaseLost(Delivery d) {
                events.lost(d);
              }
            })
        .drainTimeout(Duration.ofSeconds(20))
        .shutdownHook(true)
        .start();
    System.out.println("ordered worker " + name + " started");
    Thread.currentThread().join();
  }

  private static void hold() throws InterruptedException {
    Thread.sleep(ThreadLocalRandom.current().nextInt(MIN_HOLD_MS, MAX_HOLD_MS + 1));
  }

  /** Writes the event rows; each statement on a pooled connection commits at once. */
  static final class Events {
    private final DataSource ds;
    private final String schema;
    private final String consumer;

    Events(DataSource ds, String schema, String consumer) {
      this.ds = ds;
      this.schema = schema;
      this.consumer = consumer;
    }

    void start(Delivery d) throws SQLException {
      insert(null, "start", d, null);
    }

    /**
     * Records the end of a handling just before it settles, with whether its lease is still held
     * and unexpired at this moment on the database clock.
     */
    void end(Connection tx, Delivery d, boolean ok) throws SQLException {
      insert(tx, "end", d, ok);
    }

    void lost(Delivery d) {
      try {
        insert(null, "lost", d, null);
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
    }

    /** A poison message fails until the test cures it (before replaying it). */
    boolean failsNow(Delivery d) throws SQLException {
      if (!d.payload(Payload.class).poison()) {
        return false;
      }
      try (Connection c = ds.getConnection();
          PreparedStatement ps =
              c.prepareStatement(
                  "select not exists (select 1 from " + schema + ".cured where id = ?)")) {
        ps.setLong(1, d.id()); // message id
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getBoolean(1);
        }
      }
    }

    /** On {@code tx}, or when it is null as a transaction of its own. */
    private void insert(Connection tx, String kind, Delivery d, Boolean ok) throws SQLException {
      String sql =
          "insert into %1$s.event (kind, message_id, lease, attempt, consumer, ok, live)"
              + " select ?, ?, ?, ?, ?, ?, case when ? then exists (select 1 from %1$s.message m"
              + "   where m.id = ? and m.lease = ? and m.visible_at > clock_timestamp()) end";
      Connection c = tx != null ? tx : ds.getConnection();
      try (PreparedStatement ps = c.prepareStatement(String.format(sql, schema))) {
        ps.setString(1, kind); // 'start' | 'end' | 'lost'
        ps.setLong(2, d.id()); // message id
        ps.setObject(3, d.lease()); // lease token
        ps.setInt(4, d.attempt()); // attempt
        ps.setString(5, consumer); // who handled it
        ps.setObject(6, ok, Types.BOOLEAN); // end: whether the handler succeeded
        ps.setBoolean(7, kind.equals("end")); // check the lease: only at the end
        ps.setLong(8, d.id()); // message id
        ps.setObject(9, d.lease()); // lease token
        ps.execute();
      } finally {
        if (tx == null) {
          c.close();
        }
      }
    }
  }
}
