package dev.pgbroker.bench;

import com.github.kagkarlsson.scheduler.Scheduler;
import com.github.kagkarlsson.scheduler.SchedulerClient;
import com.github.kagkarlsson.scheduler.task.TaskInstance;
import com.github.kagkarlsson.scheduler.task.helper.OneTimeTask;
import com.github.kagkarlsson.scheduler.task.helper.Tasks;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.bench.Load.Measured;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * db-scheduler as a user would set it up for speed: lock-and-fetch polling (one UPDATE ... SKIP
 * LOCKED ... RETURNING picks a batch), as many executor threads as pgbroker has handlers, immediate
 * execution (a task scheduled for now wakes the local scheduler), a 1 s polling interval like
 * pgbroker's, batch scheduling, and a no-op one-time task.
 */
final class DbSchedulerScenario {
  static final String SCHEMA = "bench_dbscheduler";
  static final int SCHEDULE_BATCH = 1000;
  static final Duration POLLING_INTERVAL = Duration.ofSeconds(1);

  /** Fractions of the thread count: fetch again below the lower, fetch up to the upper. */
  static final double LOWER_LIMIT = 0.5;

  static final double UPPER_LIMIT = 3.0;
  static final int LATENCY_SPACING_MS = 100;

  private final Server server;
  private final Sizes sizes;
  private final Progress progress;
  private final AtomicLong handled = new AtomicLong();
  private final AtomicInteger latencyHandled = new AtomicInteger();
  private volatile AtomicLongArray latencyStarts = new AtomicLongArray(0);

  DbSchedulerScenario(Server server, Sizes sizes, Progress progress) {
    this.server = server;
    this.sizes = sizes;
    this.progress = progress;
  }

  void run(Results r) throws Exception {
    String url = server.peersUrl();
    int n = sizes.peerMessages();
    String size = sizes.peerSizeNote();
    Server.freshSchema(url, SCHEMA);
    try (HikariDataSource ds = Server.pool(url, SCHEMA, sizes.concurrency() + 8, true)) {
      createTable(ds);
      OneTimeTask<Void> task =
          Tasks.oneTime("bench-noop")
              .execute(
                  (instance, ctx) -> {
                    long now = System.nanoTime();
                    String id = instance.getId();
                    if (id.startsWith("l")) {
                      latencyStarts.set(Integer.parseInt(id.substring(1)), now);
                      latencyHandled.incrementAndGet();
                    } else {
                      handled.incrementAndGet();
                    }
                  });
      Load.rate(
          r,
          progress,
          "dbscheduler.enqueue",
          "db-scheduler: enqueue, scheduleBatch of "
              + SCHEDULE_BATCH
              + ", "
              + sizes.threads()
              + " threads"
              + size,
          () -> enqueue(ds, task, n));
      Server.vacuumAnalyze(ds, "scheduled_tasks");
      Scheduler scheduler =
          Scheduler.create(ds, task)
              .threads(sizes.concurrency())
              .pollUsingLockAndFetch(LOWER_LIMIT, UPPER_LIMIT)
              .pollingInterval(POLLING_INTERVAL)
              .enableImmediateExecution()
              .shutdownMaxWait(Duration.ofSeconds(5))
              .build();
      try {
        Load.rate(
            r,
            progress,
            "dbscheduler.process",
            "db-scheduler: processing, " + sizes.concurrency() + " threads, lock-and-fetch" + size,
            () -> process(ds, scheduler, n));
        Load.latency(
            r,
            progress,
            "dbscheduler.latency",
            "db-scheduler: idle latency, schedule" + " to task start, immediate execution",
            LATENCY_SPACING_MS + " ms apart",
            () -> latency(scheduler, task));
      } finally {
        scheduler.stop();
      }
    } finally {
      Server.dropSchema(url, SCHEMA);
    }
  }

  /** db-scheduler ships no DDL in its jar; this is its documented PostgreSQL table. */
  private static void createTable(HikariDataSource ds) throws Exception {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "create table scheduled_tasks ("
              + " task_name text not null, task_instance text not null, task_data bytea,"
              + " execution_time timestamp with time zone not null, picked boolean not null,"
              + " picked_by text, last_success timestamp with time zone,"
              + " last_failure timestamp with time zone, consecutive_failures int,"
              + " last_heartbeat timestamp with time zone, version bigint not null,"
              + " priority smallint, primary key (task_name, task_instance))");
      s.execute("create index execution_time_idx on scheduled_tasks (execution_time)");
      s.execute("create index last_heartbeat_idx on scheduled_tasks (last_heartbeat)");
      s.execute(
          "create index priority_execution_time_idx"
              + " on scheduled_tasks (priority desc, execution_time asc)");
    }
  }

  private Measured enqueue(HikariDataSource ds, OneTimeTask<Void> task, int n) throws Exception {
    progress.phase("db-scheduler: scheduling " + PgbrokerScenarios.count(n));
    SchedulerClient client = SchedulerClient.Builder.create(ds, task).build();
    AtomicLong done = new AtomicLong();
    Instant now = Instant.now();
    long nanos =
        Load.parallel(
            sizes.threads(),
            t -> {
              int mine = Load.share(n, sizes.threads(), t);
              for (int sent = 0; sent < mine; sent += SCHEDULE_BATCH) {
                int k = Math.min(SCHEDULE_BATCH, mine - sent);
                List<TaskInstance<?>> batch = new ArrayList<>(k);
                for (int i = 0; i < k; i++) {
                  batch.add(task.instance("t" + t + "-" + (sent + i)));
                }
                client.scheduleBatch(batch, now);
                progress.update(String.format("%,d", done.addAndGet(k)));
              }
            });
    return new Measured(n, nanos);
  }

  /** Starts the scheduler on the filled table; times it until the table is empty. */
  private Measured process(HikariDataSource ds, Scheduler scheduler, int n) throws Exception {
    progress.phase("db-scheduler: processing " + PgbrokerScenarios.count(n));
    long t0 = System.nanoTime();
    scheduler.start();
    progress.await(
        () -> handled.get() >= n,
        () ->
            String.format(
                "%,d handled, %,.0f msg/s",
                handled.get(), handled.get() / ((System.nanoTime() - t0) / 1e9)),
        Duration.ofSeconds(60 + n / 200));
    long end;
    do {
      end = System.nanoTime();
    } while (rows(ds) > 0 && pause());
    return new Measured(n, end - t0);
  }

  private long[] latency(Scheduler scheduler, OneTimeTask<Void> task) throws Exception {
    int n = sizes.peerLatencySamples();
    progress.phase("db-scheduler: idle latency, " + n + " schedules");
    latencyStarts = new AtomicLongArray(n);
    long[] sent =
        Load.spaced(
            n,
            LATENCY_SPACING_MS,
            i -> {
              scheduler.schedule(task.instance("l" + i), Instant.now());
              progress.update(i + 1 + " sent");
            });
    progress.await(
        () -> latencyHandled.get() >= n,
        () -> latencyHandled.get() + " handled",
        Duration.ofSeconds(30));
    return Load.latencies(sent, latencyStarts);
  }

  private static long rows(HikariDataSource ds) throws Exception {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("select count(*) from scheduled_tasks")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static boolean pause() {
    Progress.sleep(10);
    return true;
  }
}
