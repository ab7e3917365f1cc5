package dev.pgbroker.bench;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.Broker;
import dev.pgbroker.QueueStats;
import dev.pgbroker.SendOptions;
import dev.pgbroker.Worker;
import dev.pgbroker.bench.Load.Measured;
import dev.pgbroker.bench.Load.Msg;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import javax.sql.DataSource;

/**
 * pgbroker through its public API, as an application uses it: batch and transactional sends, the
 * worker runtime draining a small and a large backlog with a no-op handler, and the idle latency
 * from a send's commit to its handler's start, with and without LISTEN/NOTIFY. Each measurement
 * gets a fresh schema.
 */
final class PgbrokerScenarios {
  static final String SCHEMA = "bench_pgbroker";
  static final String QUEUE = "bench";
  static final int SEND_BATCH = 100;
  static final int FILL_BATCH = 1000;

  /** A concurrency users often pick; shown beside the tuned one when that is higher. */
  static final int USUAL_CONCURRENCY = 64;

  /** Sends to let the JIT and the LISTEN connection settle before latency samples count. */
  private static final int WARM_UP = 25;

  private final Server server;
  private final Sizes sizes;
  private final Progress progress;

  /** Heap figures of the last drain, as {@link Load#heapPeaks()} gives them. */
  private long[] lastHeapPeaks;

  PgbrokerScenarios(Server server, Sizes sizes, Progress progress) {
    this.server = server;
    this.sizes = sizes;
    this.progress = progress;
  }

  void run(Results r) {
    int threads = sizes.threads();
    int c = sizes.concurrency();
    Load.rate(
        r,
        progress,
        "pgbroker.batch_send",
        "pgbroker: batch send, sendBatch of " + SEND_BATCH + ", " + threads + " threads",
        () -> fresh((b, ds) -> batchSend(b)));
    Load.rate(
        r,
        progress,
        "pgbroker.single_send",
        "pgbroker: transactional send, one message" + " per transaction, " + threads + " threads",
        () -> fresh(this::singleSends));
    Load.rate(
        r,
        progress,
        "pgbroker.worker",
        "pgbroker: worker drains " + count(sizes.messages()) + " backlog, concurrency " + c,
        () ->
            fresh(
                (b, ds) -> {
                  fill(b, ds, sizes.warmUp());
                  drain(b, sizes.warmUp(), c); // untimed: the JIT compiles the worker first
                  fill(b, ds, sizes.messages());
                  return drain(b, sizes.messages(), c);
                }));
    heap(
        r,
        "pgbroker.heap_small",
        "pgbroker: worker heap high-water mark, " + count(sizes.messages()) + " backlog");
    if (c > USUAL_CONCURRENCY) {
      // The worker prefetches beyond its handler slots; this row shows a usual setting too.
      Load.rate(
          r,
          progress,
          "pgbroker.worker_usual",
          "pgbroker: worker drains "
              + count(sizes.messages())
              + " backlog, concurrency "
              + USUAL_CONCURRENCY,
          () ->
              fresh(
                  (b, ds) -> {
                    fill(b, ds, sizes.messages());
                    return drain(b, sizes.messages(), USUAL_CONCURRENCY);
                  }));
      lastHeapPeaks = null; // the heap rows compare the tuned drains only
    }
    r.value("pgbroker.worker")
        .ifPresent(
            drained -> {
              int rate = (int) (drained / 2);
              StringBuilder note = new StringBuilder();
              Load.latency(
                  r,
                  progress,
                  "pgbroker.steady",
                  "pgbroker: steady state at half the drain rate, send to handler start",
                  note,
                  () ->
                      fresh(
                          (b, ds) ->
                              new SteadyState(progress)
                                  .run(b, ds, QUEUE, rate, sizes.steadySeconds(), c, note)));
            });
    Load.latency(
        r,
        progress,
        "pgbroker.latency_notify",
        "pgbroker: idle latency, send commit" + " to handler start, LISTEN/NOTIFY",
        sizes.latencySpacingMs() + " ms apart",
        () -> fresh((b, ds) -> latency(b, true, i -> b.send(QUEUE, new Msg(i)))));
    Load.latency(
        r,
        progress,
        "pgbroker.latency_sql_send",
        "pgbroker: idle latency, SQL send() return to handler start, LISTEN/NOTIFY",
        sizes.latencySpacingMs() + " ms apart",
        () -> fresh((b, ds) -> latency(b, true, i -> sqlSend(ds, i))));
    Load.latency(
        r,
        progress,
        "pgbroker.latency_poll",
        "pgbroker: idle latency, polling only"
            + " (default poll interval "
            + Worker.DEFAULT_POLL_INTERVAL.toMillis()
            + " ms)",
        sizes.latencySpacingMs() + " ms apart",
        () -> fresh((b, ds) -> latency(b, false, i -> b.send(QUEUE, new Msg(i)))));
    // The large backlog: its fill is a figure of its own (batches of 1000), then the drain.
    Load.rate(
        r,
        progress,
        "pgbroker.backlog_worker",
        "pgbroker: worker drains " + count(sizes.backlog()) + " backlog, concurrency " + c,
        () ->
            fresh(
                (b, ds) -> {
                  Load.rate(
                      r,
                      progress,
                      "pgbroker.backlog_fill",
                      "pgbroker: batch send, sendBatch of "
                          + FILL_BATCH
                          + ", "
                          + threads
                          + " threads (filling the large backlog)",
                      () -> fill(b, ds, sizes.backlog()));
                  return drain(b, sizes.backlog(), c);
                }));
    heap(
        r,
        "pgbroker.heap_backlog",
        "pgbroker: worker heap high-water mark, " + count(sizes.backlog()) + " backlog");
  }

  @FunctionalInterface
  interface Work<T> {
    T run(Broker broker, HikariDataSource ds) throws Exception;
  }

  /** Runs work on a broker in a fresh schema, dropped afterwards. */
  <T> T fresh(Work<T> work) throws Exception {
    Server.dropSchema(server.url(), SCHEMA);
    try (HikariDataSource ds = Server.pool(server.url(), null, sizes.threads() + 12);
        Broker broker = Broker.create(ds).schema(SCHEMA).build()) {
      broker.createQueue(QUEUE);
      return work.run(broker, ds);
    } finally {
      Server.dropSchema(server.url(), SCHEMA);
    }
  }

  private Measured batchSend(Broker broker) throws Exception {
    progress.phase("pgbroker: batch send of " + count(sizes.messages()));
    return send(broker, sizes.messages(), SEND_BATCH);
  }

  Measured fill(Broker broker, HikariDataSource ds, int n) throws Exception {
    progress.phase("pgbroker: filling a backlog of " + count(n));
    Measured m = send(broker, n, FILL_BATCH);
    Server.vacuumAnalyze(ds, SCHEMA + ".message");
    return m;
  }

  private Measured send(Broker broker, int n, int batch) throws Exception {
    return send(broker, n, batch, SendOptions.none());
  }

  /** Sends {@code n} messages in batches of {@code batch} from the client threads. */
  Measured send(Broker broker, int n, int batch, SendOptions options) throws Exception {
    return batches(n, batch, payloads -> broker.sendBatch(QUEUE, payloads, options));
  }

  /** How one batch goes out: a send, or a publish. */
  @FunctionalInterface
  interface Batch {
    void send(List<Msg> payloads) throws Exception;
  }

  /** Hands {@code n} messages to {@code batchSend} in batches from the client threads. */
  Measured batches(int n, int batch, Batch batchSend) throws Exception {
    AtomicLong done = new AtomicLong();
    long nanos =
        Load.parallel(
            sizes.threads(),
            t -> {
              int mine = Load.share(n, sizes.threads(), t);
              for (int sent = 0; sent < mine; sent += batch) {
                int k = Math.min(batch, mine - sent);
                List<Msg> payloads = new ArrayList<>(k);
                for (int i = 0; i < k; i++) {
                  payloads.add(new Msg(sent + i));
                }
                batchSend.send(payloads);
                progress.update(String.format("%,d", done.addAndGet(k)));
              }
            });
    return new Measured(n, nanos);
  }

  private Measured singleSends(Broker broker, HikariDataSource ds) throws Exception {
    int n = sizes.singleSends();
    progress.phase("pgbroker: " + count(n) + " one-message transactions");
    AtomicLong done = new AtomicLong();
    long nanos =
        Load.parallel(
            sizes.threads(),
            t -> {
              int mine = Load.share(n, sizes.threads(), t);
              try (Connection c = ds.getConnection()) {
                c.setAutoCommit(false);
                for (int i = 0; i < mine; i++) {
                  broker.send(c, QUEUE, new Msg(i), SendOptions.none());
                  c.commit();
                  progress.update(String.format("%,d", done.incrementAndGet()));
                }
                c.setAutoCommit(true);
              }
            });
    return new Measured(n, nanos);
  }

  /**
   * Starts a worker on a filled queue and times it until every message is handled and its ack is in
   * (the queue's stats show nothing left). Keeps the heap high-water mark of the drain.
   */
  Measured drain(Broker broker, int n, int concurrency) {
    progress.phase("pgbroker: worker draining " + count(n));
    AtomicLong handled = new AtomicLong();
    Load.resetHeapPeaks();
    long t0 = System.nanoTime();
    try (Worker worker =
        broker
            .worker()
            .handle(QUEUE, d -> handled.incrementAndGet())
            .concurrency(QUEUE, concurrency)
            .start()) {
      progress.await(
          () -> handled.get() >= n,
          () ->
              String.format(
                  "%,d handled, %,.0f msg/s",
                  handled.get(), handled.get() / ((System.nanoTime() - t0) / 1e9)),
          timeout(n));
      long end;
      do {
        end = System.nanoTime(); // the stats below describe the queue as of this moment
      } while (left(broker.stats(QUEUE)) > 0 && sleep());
      lastHeapPeaks = Load.heapPeaks();
      if (handled.get() != n) {
        throw new IllegalStateException("handled " + handled.get() + " of " + n);
      }
      return new Measured(n, end - t0);
    }
  }

  /** Records the heap peaks of the last drain, if it got that far. */
  private void heap(Results r, String key, String label) {
    if (lastHeapPeaks != null) {
      r.heap(key, label, lastHeapPeaks[0], lastHeapPeaks[1], lastHeapPeaks[2]);
      lastHeapPeaks = null;
    }
  }

  private static long left(QueueStats s) {
    return s.ready() + s.delayed() + s.inFlight();
  }

  private static boolean sleep() {
    Progress.sleep(5);
    return true;
  }

  /** One message sent through the SQL API in its own transaction, as another language would. */
  private static void sqlSend(DataSource ds, int seq) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement("select " + SCHEMA + ".send(?, ?::jsonb)")) {
      ps.setString(1, QUEUE); // queue name
      ps.setString(2, Load.payload(seq)); // the payload every scenario sends
      ps.execute();
    }
  }

  /** Latency samples: handler start minus send return, for spaced sends to an idle worker. */
  private long[] latency(Broker broker, boolean listenNotify, Load.Send send) throws Exception {
    int n = sizes.latencySamples();
    progress.phase(
        "pgbroker: idle latency "
            + (listenNotify ? "with LISTEN/NOTIFY" : "polling")
            + ", "
            + n
            + " sends");
    AtomicLongArray started = new AtomicLongArray(n + WARM_UP);
    AtomicInteger handled = new AtomicInteger();
    try (Worker worker =
        broker
            .worker()
            .handle(
                QUEUE,
                d -> {
                  long now = System.nanoTime(); // first, so parsing is not counted
                  started.set(Load.seqOf(d.payloadJson()), now);
                  handled.incrementAndGet();
                })
            .concurrency(QUEUE, sizes.concurrency())
            .listenNotify(listenNotify)
            .start()) {
      // Spaced like the samples: after the drains before it in this JVM, the first few spaced
      // sends after a quick burst waited 25-90 ms (one stall, cause not found; a fresh JVM
      // shows none), which is settling, not the steady state this figure describes.
      Load.spaced(WARM_UP, sizes.latencySpacingMs(), i -> send.send(n + i));
      progress.await(() -> handled.get() >= WARM_UP, () -> "warming up", Duration.ofSeconds(30));
      long[] sent =
          Load.spaced(
              n,
              sizes.latencySpacingMs(),
              i -> {
                send.send(i);
                progress.update(i + 1 + " sent");
              });
      progress.await(
          () -> handled.get() >= n + WARM_UP,
          () -> handled.get() - WARM_UP + " handled",
          Duration.ofSeconds(30));
      return Load.latencies(sent, started);
    }
  }

  /** Generous: a drain slower than 500 msg/s is broken, not slow. */
  static Duration timeout(int n) {
    return Duration.ofSeconds(60 + n / 500);
  }

  static String count(int n) {
    return n >= 1_000_000 && n % 1_000_000 == 0
        ? n / 1_000_000 + "M"
        : n >= 1000 && n % 1000 == 0 ? n / 1000 + "k" : String.valueOf(n);
  }
}
