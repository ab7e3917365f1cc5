package dev.pgbroker.server.demo;

import dev.pgbroker.Broker;
import dev.pgbroker.DeadLetter;
import dev.pgbroker.Delivery;
import dev.pgbroker.QueueOptions;
import dev.pgbroker.QueueStats;
import dev.pgbroker.SendOptions;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;

/**
 * pgbroker's main job, shown end to end with the public Broker API: a transactional send that rolls
 * back, a delayed message, one producer and three competing consumers with exactly-once effects, a
 * poison message that reaches the dead-letter store, and its replay after a fix. {@link #run} is
 * the package's one entry point.
 */
public final class Demo {
  static final String PAYMENTS = "demo.payments";
  static final String REMINDERS = "demo.reminders";
  static final int CONSUMERS = 3;
  static final int SEND_BATCH = 100;
  static final int MAX_ATTEMPTS = 3;
  static final Duration RETRY_AFTER = Duration.ofMillis(100);
  static final Duration DELAY = Duration.ofMillis(1500);

  /** How long any one stage may take before the demo gives up on it, so it never hangs. */
  static final Duration STAGE_LIMIT = Duration.ofSeconds(60);

  /**
   * Connections the demo's pool should allow: each consumer's worker holds a LISTEN connection and
   * uses one per running handler plus its fetches and acks; the producer, the progress line and the
   * demo's checks need a few more.
   */
  public static final int POOL_SIZE = CONSUMERS * (Consumers.CONCURRENCY + 3) + 4;

  private final Broker broker;
  private final DataSource dataSource;
  private final PrintWriter out;
  private final int messages;
  private final Duration work;
  private final long startNanos;
  private final ProcessedTable table;
  private final List<String> problems = new ArrayList<>();

  Demo(
      Broker broker,
      DataSource dataSource,
      PrintWriter out,
      int messages,
      Duration work,
      long startNanos) {
    this.broker = broker;
    this.dataSource = dataSource;
    this.out = out;
    this.messages = messages;
    this.work = work;
    this.startNanos = startNanos;
    this.table = new ProcessedTable(dataSource, broker.schema() + "_demo");
  }

  /**
   * Runs every stage on {@code broker}, whose schema must be migrated, prints each stage and the
   * summary to {@code out}, and returns whether every check passed. {@code dataSource} is the
   * broker's, with at least {@link #POOL_SIZE} connections; {@code work} is the simulated
   * processing time per payment; {@code startNanos} is when the run began, for the total time.
   */
  public static boolean run(
      Broker broker,
      DataSource dataSource,
      PrintWriter out,
      int messages,
      Duration work,
      long startNanos)
      throws SQLException, InterruptedException {
    Summary summary = new Demo(broker, dataSource, out, messages, work, startNanos).runStages();
    summary.print(out);
    return summary.ok();
  }

  Summary runStages() throws SQLException, InterruptedException {
    // Deleting first makes a rerun on a real database start from the same empty state.
    broker.deleteQueue(PAYMENTS);
    broker.deleteQueue(REMINDERS);
    broker.createQueue(
        PAYMENTS, QueueOptions.defaults().maxAttempts(MAX_ATTEMPTS).backoffSchedule(RETRY_AFTER));
    broker.createQueue(REMINDERS);
    table.reset();
    out.printf(
        "queues %s (at most %d attempts, retry after %d ms) and %s; table %s%n",
        PAYMENTS, MAX_ATTEMPTS, RETRY_AFTER.toMillis(), REMINDERS, table.name());

    transactionalSend();
    delayedDelivery();
    heading("3. Topics and schedules: one publish, a copy per subscription; one message per tick");
    new FanOutAndSchedule(broker, dataSource, out, problems).run();
    return competingConsumers();
  }

  private void transactionalSend() throws SQLException {
    heading("1. Transactional send: a message sent in a transaction that rolls back never exists");
    long id;
    QueueStats during;
    try (Connection tx = dataSource.getConnection()) {
      tx.setAutoCommit(false);
      id = broker.send(tx, PAYMENTS, new Payment(0, 100, false), SendOptions.none());
      during = broker.stats(PAYMENTS); // from another connection, while tx is still open
      tx.rollback();
      tx.setAutoCommit(true);
    }
    QueueStats after = broker.stats(PAYMENTS);
    List<Delivery> received = broker.read(PAYMENTS, 10);
    out.printf(
        "  sent message %d in an open transaction; other connections see %d messages%n",
        id, live(during));
    out.printf(
        "  rolled back: queue holds %d messages, read returns %d, sent counter is %d%n",
        live(after), received.size(), after.sent());
    if (live(during) + live(after) + received.size() + after.sent() > 0) {
      problems.add("the message of a rolled-back transaction was visible");
    }
  }

  private void delayedDelivery() throws SQLException, InterruptedException {
    heading("2. Delayed delivery: not receivable before its time, receivable after");
    long t0 = System.nanoTime();
    Instant sentAt = databaseNow();
    long id =
        broker.send(
            REMINDERS, Map.of("remind", "invoice 7 is due"), SendOptions.none().delay(DELAY));
    boolean early = !broker.read(REMINDERS, 1).isEmpty();
    out.printf(
        "  sent message %d with a %.1f s delay; read right away returns %s%n",
        id, DELAY.toMillis() / 1e3, early ? "it (too early!)" : "nothing");
    Delivery got = null;
    long deadline = t0 + STAGE_LIMIT.toNanos();
    while (got == null && System.nanoTime() < deadline) {
      List<Delivery> batch = broker.read(REMINDERS, 1);
      if (batch.isEmpty()) {
        Thread.sleep(10); // a pull loop polls; broker.worker() would arm a timer for the due time
      } else {
        got = batch.get(0);
      }
    }
    if (got == null) {
      problems.add("the delayed message never arrived");
      return;
    }
    Duration waited = Duration.between(sentAt, databaseNow());
    broker.ack(got);
    out.printf(
        "  received message %d after %.3f s (asked for %.3f s)%n",
        got.id(), waited.toNanos() / 1e9, DELAY.toNanos() / 1e9);
    if (early || waited.compareTo(DELAY) < 0) {
      problems.add("the delayed message arrived early, after " + waited.toMillis() + " ms");
    }
  }

  /**
   * The database's clock, which a delay runs on. The JVM's monotonic clock may not keep pace with
   * it: on a virtual machine whose wall clock is stepped forward now and then (by 9-15 ms within
   * some 3-second windows), System.nanoTime measured 1,495 ms for a delay of 1,500 that PostgreSQL
   * had kept.
   */
  private Instant databaseNow() throws SQLException {
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("select clock_timestamp()")) {
      rs.next();
      return rs.getObject(1, OffsetDateTime.class).toInstant();
    }
  }

  private Summary competingConsumers() throws SQLException, InterruptedException {
    int poison = messages / 2; // in the middle of the load, so it fails while others pass
    heading(
        "4. Competing consumers: 1 producer, "
            + CONSUMERS
            + " consumers, "
            + messages
            + " payments, "
            + work.toMillis()
            + " ms of work each;\n   payment "
            + (poison + 1)
            + " is poison: the consumers fail it until a fix is deployed");
    AtomicBoolean bugFixed = new AtomicBoolean();
    Consumers consumers = new Consumers(broker, table, PAYMENTS, CONSUMERS, work, bugFixed);
    AtomicInteger sent = new AtomicInteger();
    List<Long> ids = List.of();
    Duration loadTime = Duration.ZERO;
    int replayed = 0;
    long loadStart = System.nanoTime();
    consumers.start();
    Progress progress =
        Progress.start(out, sent::get, consumers, () -> broker.stats(PAYMENTS).inFlight());
    try {
      ids = produce(sent, poison);
      Long deadId = ids.isEmpty() ? null : consumers.awaitDeadLetter(STAGE_LIMIT);
      boolean othersDone = deadId != null && consumers.awaitProcessed(messages - 1, STAGE_LIMIT);
      loadTime = Duration.ofNanos(System.nanoTime() - loadStart);
      progress.stop();
      if (othersDone) {
        showDeadLetter(deadId);
        replayed = replayAfterFix(deadId, bugFixed, consumers) ? 1 : 0;
      } else if (!ids.isEmpty()) {
        problems.add("the load did not finish within " + STAGE_LIMIT.toSeconds() + " s");
      }
    } finally {
      progress.stop();
      consumers.stop();
    }
    if (consumers.staleLeases() > 0) {
      out.printf(
          "  %d ack(s) refused for a lapsed lease; those messages were redelivered%n",
          consumers.staleLeases());
    }
    if (consumers.committedTwice() > 0) {
      problems.add(consumers.committedTwice() + " payment(s) committed by two consumers");
    }
    return summarize(ids, replayed, loadTime);
  }

  /** Sends the payments in batches from a producer thread; returns their ids in send order. */
  private List<Long> produce(AtomicInteger sent, int poison) throws InterruptedException {
    CompletableFuture<List<Long>> producing =
        CompletableFuture.supplyAsync(
            () -> {
              List<Long> ids = new ArrayList<>(messages);
              for (int from = 0; from < messages; from += SEND_BATCH) {
                List<Payment> batch = new ArrayList<>(SEND_BATCH);
                for (int i = from; i < Math.min(messages, from + SEND_BATCH); i++) {
                  batch.add(new Payment(i + 1, 100 + (i * 37L) % 99_900, i == poison));
                }
                ids.addAll(broker.sendBatch(PAYMENTS, batch));
                sent.set(ids.size());
              }
              return ids;
            },
            task -> {
              Thread t = new Thread(task, "producer");
              t.setDaemon(true);
              t.start();
            });
    try {
      return producing.get(STAGE_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
      problems.add("the producer failed: " + cause);
      return List.of();
    }
  }

  private void showDeadLetter(long id) {
    Optional<DeadLetter> found = broker.deadLetters(PAYMENTS).find(id);
    if (found.isEmpty()) {
      problems.add("message " + id + " is not in the dead-letter store");
      return;
    }
    DeadLetter dl = found.get();
    out.printf(
        "  message %d failed %d times and moved to the dead-letter store; its errors:%n",
        id, dl.attempts());
    Instant first = dl.errors().isEmpty() ? null : dl.errors().get(0).at();
    for (DeadLetter.AttemptError e : dl.errors()) {
      String firstLine = e.error() == null ? "" : e.error().lines().findFirst().orElse("");
      out.printf(
          "    attempt %d at %+.3f s: %s%n",
          e.attempt(), Duration.between(first, e.at()).toMillis() / 1e3, firstLine);
    }
    // Otherwise the gaps look wrong: a retry is due after the backoff, then queues by due time.
    out.printf(
        "  (each retry is due %d ms after its failure, then waits behind payments due"
            + " earlier)%n",
        RETRY_AFTER.toMillis());
  }

  /** True if the replayed message was then processed. */
  private boolean replayAfterFix(long id, AtomicBoolean bugFixed, Consumers consumers)
      throws InterruptedException {
    heading("5. Replay: the fix is deployed, the dead letter goes back to the queue");
    bugFixed.set(true);
    boolean replayed = broker.deadLetters(PAYMENTS).replay(id);
    out.printf(
        "  replay(%d) returned %s; dead letters left: %d%n",
        id, replayed, broker.deadLetters(PAYMENTS).list(10).size());
    if (replayed && consumers.awaitProcessed(messages, STAGE_LIMIT)) {
      out.printf("  message %d processed by %s after replay%n", id, consumers.whoProcessed(id));
      return true;
    }
    problems.add("the replayed message " + id + " was not processed");
    return false;
  }

  private Summary summarize(List<Long> ids, int replayed, Duration loadTime) throws SQLException {
    Map<Long, Integer> rows = table.rowsPerMessage();
    Set<Long> sentIds = new HashSet<>(ids);
    long once = sentIds.stream().filter(id -> rows.getOrDefault(id, 0) == 1).count();
    long lost = sentIds.stream().filter(id -> !rows.containsKey(id)).count();
    long duplicates = rows.values().stream().mapToLong(n -> n - 1).sum();
    Set<Long> strangers = new HashSet<>(rows.keySet());
    strangers.removeAll(sentIds);
    if (!strangers.isEmpty()) {
      problems.add("processed messages that were never sent: " + strangers);
    }
    long deadLettered = broker.stats(PAYMENTS).deadLettered();
    Duration total = Duration.ofNanos(System.nanoTime() - startNanos);
    return Summary.of(
        ids.size(),
        once,
        duplicates,
        lost,
        deadLettered,
        replayed,
        loadTime,
        total,
        Collections.unmodifiableList(problems));
  }

  private void heading(String title) {
    out.println();
    out.println(title);
    out.flush();
  }

  private static long live(QueueStats s) {
    return s.ready() + s.delayed() + s.inFlight();
  }
}
