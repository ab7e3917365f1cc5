package dev.pgbroker.bench;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.bench.Load.Measured;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.stream.LongStream;
import org.jobrunr.configuration.JobRunr;
import org.jobrunr.configuration.JobRunrConfiguration.JobRunrConfigurationResult;
import org.jobrunr.scheduling.JobScheduler;
import org.jobrunr.server.BackgroundJobServer;
import org.jobrunr.server.BackgroundJobServerConfiguration;
import org.jobrunr.storage.sql.postgres.PostgresStorageProvider;

/**
 * JobRunr as a user would set it up for speed: PostgreSQL storage, stream enqueue (saved in
 * batches), as many workers as pgbroker has handlers, and the shortest poll interval it allows for
 * SQL storage (5 s). The job is a no-op static method; JobRunr finds it by reading the lambda's
 * bytecode, so it must be a method call JobRunr can replay (see {@link JobRunrJobs}).
 */
final class JobRunrScenario {
  static final String SCHEMA = "bench_jobrunr";
  static final Duration POLL_INTERVAL = Duration.ofSeconds(5);
  static final int LATENCY_SPACING_MS = 100;

  private final Server server;
  private final Sizes sizes;
  private final Progress progress;

  JobRunrScenario(Server server, Sizes sizes, Progress progress) {
    this.server = server;
    this.sizes = sizes;
    this.progress = progress;
  }

  void run(Results r) throws Exception {
    String url = server.peersUrl();
    int n = sizes.peerMessages();
    String size = sizes.peerSizeNote();
    Server.freshSchema(url, SCHEMA);
    AtomicLong handled = new AtomicLong();
    AtomicInteger latencyHandled = new AtomicInteger();
    AtomicLongArray latencyStarts = new AtomicLongArray(sizes.peerLatencySamples());
    JobRunrJobs.onRun =
        seq -> {
          long now = System.nanoTime();
          if (seq < 0) { // latency samples are numbered -1, -2, ...
            latencyStarts.set((int) (-seq - 1), now);
            latencyHandled.incrementAndGet();
          } else {
            handled.incrementAndGet();
          }
        };
    try (HikariDataSource ds = Server.pool(url, SCHEMA, sizes.concurrency() + 8, true)) {
      JobRunrConfigurationResult jobRunr =
          JobRunr.configure()
              .useStorageProvider(new PostgresStorageProvider(ds)) // creates its tables
              .useBackgroundJobServer(
                  BackgroundJobServerConfiguration.usingStandardBackgroundJobServerConfiguration()
                      .andWorkerCount(sizes.concurrency())
                      .andPollInterval(POLL_INTERVAL),
                  false) // started once the jobs are in
              .initialize();
      try {
        JobScheduler scheduler = jobRunr.getJobScheduler();
        Load.rate(
            r,
            progress,
            "jobrunr.enqueue",
            "JobRunr: enqueue, stream of jobs" + size,
            () -> enqueue(scheduler, n));
        Server.vacuumAnalyze(ds, "jobrunr_jobs");
        BackgroundJobServer jobServer = jobRunr.getBackgroundJobServer();
        Load.rate(
            r,
            progress,
            "jobrunr.process",
            "JobRunr: processing, "
                + sizes.concurrency()
                + " workers, poll interval "
                + POLL_INTERVAL.toSeconds()
                + " s"
                + size,
            () -> process(ds, jobServer, handled, n));
        Load.latency(
            r,
            progress,
            "jobrunr.latency",
            "JobRunr: idle latency, enqueue to job" + " start",
            LATENCY_SPACING_MS + " ms apart",
            () -> latency(scheduler, latencyHandled, latencyStarts));
      } finally {
        JobRunr.destroy();
      }
    } finally {
      JobRunrJobs.onRun = null;
      Server.dropSchema(url, SCHEMA);
    }
  }

  private Measured enqueue(JobScheduler scheduler, int n) {
    progress.phase("JobRunr: enqueuing " + PgbrokerScenarios.count(n));
    AtomicLong done = new AtomicLong();
    long t0 = System.nanoTime();
    scheduler.enqueue(
        LongStream.range(0, n)
            .boxed()
            .peek(
                i -> {
                  progress.update(String.format("%,d", done.incrementAndGet()));
                }),
        seq -> JobRunrJobs.run(seq));
    return new Measured(n, System.nanoTime() - t0);
  }

  /** Starts the job server on the enqueued jobs; times it until none is left to do. */
  private Measured process(
      HikariDataSource ds, BackgroundJobServer jobServer, AtomicLong handled, int n)
      throws Exception {
    progress.phase("JobRunr: processing " + PgbrokerScenarios.count(n));
    long t0 = System.nanoTime();
    jobServer.start();
    progress.await(
        () -> handled.get() >= n,
        () ->
            String.format(
                "%,d handled, %,.0f msg/s",
                handled.get(), handled.get() / ((System.nanoTime() - t0) / 1e9)),
        Duration.ofSeconds(120 + n / 50));
    long end;
    do {
      end = System.nanoTime();
    } while (unfinished(ds) > 0 && pause());
    return new Measured(n, end - t0);
  }

  private long[] latency(JobScheduler scheduler, AtomicInteger handled, AtomicLongArray starts)
      throws Exception {
    int n = sizes.peerLatencySamples();
    progress.phase("JobRunr: idle latency, " + n + " enqueues");
    long[] sent =
        Load.spaced(
            n,
            LATENCY_SPACING_MS,
            i -> {
              long seq = -i - 1L;
              scheduler.enqueue(() -> JobRunrJobs.run(seq));
              progress.update(i + 1 + " sent");
            });
    progress.await(
        () -> handled.get() >= n, () -> handled.get() + " handled", POLL_INTERVAL.multipliedBy(4));
    return Load.latencies(sent, starts);
  }

  private static long unfinished(HikariDataSource ds) throws Exception {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "select count(*) from jobrunr_jobs where state in ('ENQUEUED', 'PROCESSING')")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static boolean pause() {
    Progress.sleep(10);
    return true;
  }
}
