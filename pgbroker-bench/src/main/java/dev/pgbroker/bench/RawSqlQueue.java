package dev.pgbroker.bench;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.bench.Load.Measured;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The raw-SQL limit: the least a Postgres queue can do, hand-written over JDBC. One table, a
 * multi-row INSERT per 100 messages, and one DELETE ... SKIP LOCKED ... RETURNING per 100 taken, on
 * several connections. No leases, retries or bookkeeping: the ceiling pgbroker lives under.
 */
final class RawSqlQueue {
  static final String SCHEMA = "bench_raw";
  static final int BATCH = 100;

  private static final String DEQUEUE =
      "delete from job where id in ("
          + "select id from job order by id limit "
          + BATCH
          + " for update skip locked)"
          + " returning id, payload, created_at";

  private final Server server;
  private final Sizes sizes;
  private final Progress progress;

  RawSqlQueue(Server server, Sizes sizes, Progress progress) {
    this.server = server;
    this.sizes = sizes;
    this.progress = progress;
  }

  void run(Results results) throws Exception {
    int threads = sizes.threads();
    Server.freshSchema(server.url(), SCHEMA);
    try (HikariDataSource ds = Server.pool(server.url(), SCHEMA, threads + 1)) {
      try (Connection c = ds.getConnection();
          PreparedStatement ps =
              c.prepareStatement(
                  "create table job (id bigserial primary key, payload jsonb not null,"
                      + " created_at timestamptz not null default now())")) {
        ps.execute();
      }
      // Untimed, as the pgbroker worker's drain is warmed: the JIT compiles this code first.
      insert(ds, sizes.warmUp());
      dequeue(ds, sizes.warmUp());
      Load.rate(
          results,
          progress,
          "raw.insert",
          "raw SQL: enqueue, INSERT of "
              + BATCH
              + " rows per statement, "
              + threads
              + " connections",
          () -> insert(ds, sizes.messages()));
      Server.vacuumAnalyze(ds, "job");
      Load.rate(
          results,
          progress,
          "raw.dequeue",
          "raw SQL: dequeue, DELETE "
              + BATCH
              + " SKIP LOCKED RETURNING, "
              + threads
              + " connections",
          () -> dequeue(ds, sizes.messages()));
      Load.rate(
          results,
          progress,
          "raw.single_insert",
          "raw SQL: one INSERT per transaction, " + threads + " connections",
          () -> singleInserts(ds));
    } finally {
      Server.dropSchema(server.url(), SCHEMA);
    }
  }

  private Measured insert(HikariDataSource ds, int n) throws Exception {
    progress.phase("raw SQL: inserting " + n);
    AtomicLong done = new AtomicLong();
    long nanos =
        Load.parallel(
            sizes.threads(),
            t -> {
              int mine = Load.share(n, sizes.threads(), t);
              try (Connection c = ds.getConnection();
                  PreparedStatement full = c.prepareStatement(insertSql(BATCH))) {
                for (int sent = 0; sent < mine; sent += BATCH) {
                  int k = Math.min(BATCH, mine - sent);
                  try (PreparedStatement tail =
                      k < BATCH ? c.prepareStatement(insertSql(k)) : null) {
                    PreparedStatement ps = tail != null ? tail : full;
                    for (int i = 0; i < k; i++) {
                      ps.setString(i + 1, Load.payload(sent + i)); // payload of row i
                    }
                    ps.executeUpdate();
                  }
                  progress.update(String.format("%,d", done.addAndGet(k)));
                }
              }
            });
    return new Measured(n, nanos);
  }

  private static String insertSql(int rows) {
    StringBuilder sql = new StringBuilder("insert into job (payload) values ");
    for (int i = 0; i < rows; i++) {
      sql.append(i == 0 ? "" : ", ").append("(?::jsonb)");
    }
    return sql.toString();
  }

  private Measured dequeue(HikariDataSource ds, int n) throws Exception {
    progress.phase("raw SQL: dequeuing " + n);
    AtomicLong done = new AtomicLong();
    long nanos =
        Load.parallel(
            sizes.threads(),
            t -> {
              try (Connection c = ds.getConnection();
                  PreparedStatement ps = c.prepareStatement(DEQUEUE)) {
                while (true) {
                  int got = 0;
                  try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                      rs.getLong(1);
                      rs.getString(2); // read the payload, as a consumer would
                      rs.getTimestamp(3);
                      got++;
                    }
                  }
                  if (got == 0) {
                    return; // empty, or the rest is locked by the other consumers, who finish it
                  }
                  progress.update(String.format("%,d", done.addAndGet(got)));
                }
              }
            });
    if (done.get() != n) {
      throw new IllegalStateException("dequeued " + done.get() + " of " + n);
    }
    return new Measured(n, nanos);
  }

  private Measured singleInserts(HikariDataSource ds) throws Exception {
    int n = sizes.singleSends();
    progress.phase("raw SQL: " + n + " single-row transactions");
    AtomicLong done = new AtomicLong();
    long nanos =
        Load.parallel(
            sizes.threads(),
            t -> {
              int mine = Load.share(n, sizes.threads(), t);
              try (Connection c = ds.getConnection();
                  PreparedStatement ps =
                      c.prepareStatement("insert into job (payload) values (?::jsonb)")) {
                c.setAutoCommit(false);
                for (int i = 0; i < mine; i++) {
                  ps.setString(1, Load.payload(i)); // the one message's payload
                  ps.executeUpdate();
                  c.commit();
                  progress.update(String.format("%,d", done.incrementAndGet()));
                }
                c.setAutoCommit(true);
              }
            });
    return new Measured(n, nanos);
  }
}
