package dev.pgbroker.bench;

import static dev.pgbroker.bench.PgbrokerScenarios.QUEUE;
import static dev.pgbroker.bench.PgbrokerScenarios.SCHEMA;
import static dev.pgbroker.bench.PgbrokerScenarios.count;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.Broker;
import dev.pgbroker.Delivery;
import dev.pgbroker.SendOptions;
import dev.pgbroker.bench.Load.Measured;
import dev.pgbroker.bench.Load.Msg;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * pgbroker's ordering keys, through the public API: the worker draining messages spread round-robin
 * over a few, some, and one key per message, against the same messages without a key in the same
 * run; and an unkeyed read loop with and without a long backlog waiting behind one held key, which
 * the broker parks out of the fetch path. Each measurement gets a fresh schema.
 */
final class OrderingKeyScenarios {
  /** Messages per {@code read()} of the read loop. */
  static final int READ_BATCH = 100;

  /** The key whose first message stays leased while the rest of its messages wait. */
  static final String HELD_KEY = "held";

  /** Longer than any run: the held key's lease must not run out while the reads are timed. */
  private static final Duration HOLD = Duration.ofHours(1);

  /** One-by-one sends per transaction when filling round-robin. */
  private static final int SENDS_PER_COMMIT = 1000;

  private final PgbrokerScenarios pgbroker;
  private final Sizes sizes;
  private final Progress progress;

  OrderingKeyScenarios(Server server, Sizes sizes, Progress progress) {
    this.pgbroker = new PgbrokerScenarios(server, sizes, progress);
    this.sizes = sizes;
    this.progress = progress;
  }

  void run(Results r) {
    drains(
        r,
        new Drain("pgbroker.ordered_none", 0),
        new Drain("pgbroker.ordered_few", sizes.fewKeys()),
        new Drain("pgbroker.ordered_some", sizes.someKeys()),
        new Drain("pgbroker.ordered_many", sizes.orderedMessages()));
    int n = sizes.heldReads();
    String loop = "pgbroker: read(" + READ_BATCH + ") + ackAll loop, " + count(n) + " messages";
    Load.rate(
        r,
        progress,
        "pgbroker.read_plain",
        loop + ", no ordering key anywhere",
        () ->
            pgbroker.fresh(
                (b, ds) -> {
                  pgbroker.fill(b, ds, n);
                  return reads(b, n).steady(Map.of());
                }));
    Load.rate(
        r,
        progress,
        "pgbroker.read_held_key",
        loop + ", " + count(sizes.heldBacklog()) + " waiting behind one held key",
        () -> pgbroker.fresh((b, ds) -> heldKey(r, b, ds)));
  }

  /**
   * Drains of 10,000 last a fraction of a second: each row is the median of this many. (Of five,
   * five runs of the same code in a row put 10,000 keys at 76% to 101% of the unkeyed drain.)
   */
  private static final int DRAINS = 9;

  /** One row of drains: its result key, its ordering keys (0: none) and the drains so far. */
  private record Drain(String key, int keys, List<Measured> done) {
    Drain(String key, int keys) {
      this(key, keys, new ArrayList<>());
    }
  }

  /**
   * The worker drains the orderedMessages size, sent round-robin over each row's ordering keys,
   * timed like every worker drain, {@link #DRAINS} fresh drains a row; each row is the median of
   * its drains, since one so short moved by half between runs. The rows take turns (a round is one
   * drain of each), so that a machine slowing down for a while slows every row alike rather than
   * the ratios' numerator or denominator alone. A row whose drain failed fails, and drains no more.
   *
   * <p>Each timed drain follows an untimed one of the same messages on the same pool, as in the
   * worker row: a fresh schema's first reads on each connection plan the read's statements (custom
   * plans for the first five calls), which a service that has run for a while has long done. Of a
   * drain of 20 reads, those were most, and a keyed read has more statements to plan.
   */
  private void drains(Results r, Drain... rows) {
    int n = sizes.orderedMessages();
    int c = sizes.concurrency();
    Map<String, Exception> failed = new HashMap<>();
    for (int i = 0; i < DRAINS; i++) {
      for (Drain row : rows) {
        if (failed.containsKey(row.key())) {
          continue;
        }
        try {
          row.done()
              .add(
                  pgbroker.fresh(
                      (b, ds) -> {
                        fillRoundRobin(b, ds, n, row.keys());
                        pgbroker.drain(b, n, c); // untimed: see the method's comment
                        fillRoundRobin(b, ds, n, row.keys());
                        return pgbroker.drain(b, n, c);
                      }));
        } catch (Exception e) {
          failed.put(row.key(), e);
        }
      }
    }
    for (Drain row : rows) {
      String how =
          row.keys() == 0
              ? "without ordering key"
              : String.format("round-robin over %,d ordering keys", row.keys());
      Load.rate(
          r,
          progress,
          row.key(),
          "pgbroker: worker drains " + count(n) + " messages " + how + ", concurrency " + c,
          () -> {
            if (failed.containsKey(row.key())) {
              throw failed.get(row.key());
            }
            Measured m = Load.median(row.done());
            return new Measured(
                m.count(),
                m.nanos(),
                "median of " + DRAINS + ", rows in turns",
                Map.of("orderingKeys", row.keys(), "drains", DRAINS));
          });
    }
  }

  /**
   * Sends {@code n} messages one by one, message i with key {@code "k" + i % keys} (none when
   * {@code keys} is 0), so ids take the keys in turn as they would from producers sending side by
   * side (a batch send gives all its messages one key). Then vacuums and analyses, like every fill.
   */
  private void fillRoundRobin(Broker broker, HikariDataSource ds, int n, int keys)
      throws Exception {
    progress.phase(
        "pgbroker: filling "
            + count(n)
            + (keys == 0 ? " without ordering key" : " over " + keys + " ordering keys"));
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      for (int i = 0; i < n; i++) {
        SendOptions options =
            keys == 0 ? SendOptions.none() : SendOptions.none().orderingKey("k" + i % keys);
        broker.send(c, QUEUE, new Msg(i), options);
        if ((i + 1) % SENDS_PER_COMMIT == 0 || i + 1 == n) {
          c.commit();
          progress.update(String.format("%,d", i + 1));
        }
      }
      c.setAutoCommit(true);
    }
    Server.vacuumAnalyze(ds, SCHEMA + ".message");
  }

  /**
   * The read loop with the heldBacklog size waiting behind one key: those are sent first, the key's
   * first message is read and kept leased, then the unkeyed messages are sent and read. The reads
   * that park the backlog are a figure of their own; the steady rate after them is this one's.
   */
  private Measured heldKey(Results r, Broker broker, HikariDataSource ds) throws Exception {
    int backlog = sizes.heldBacklog();
    int n = sizes.heldReads();
    progress.phase("pgbroker: sending " + count(backlog) + " messages with one ordering key");
    pgbroker.send(
        broker, backlog, PgbrokerScenarios.FILL_BATCH, SendOptions.none().orderingKey(HELD_KEY));
    List<Delivery> head = broker.read(QUEUE, 1, HOLD); // never acked: the key stays held
    if (head.size() != 1 || !HELD_KEY.equals(head.get(0).orderingKey())) {
      throw new IllegalStateException("expected the held key's first message, read " + head);
    }
    pgbroker.fill(broker, ds, n);
    Reads reads = reads(broker, n);
    String note =
        String.format(
            "%,d read%s, the first %s ms",
            reads.warmUpReads(),
            reads.warmUpReads() == 1 ? "" : "s",
            Results.ms(reads.firstReadNanos() / 1e6));
    r.rate(
        "pgbroker.held_key_parking",
        "pgbroker: parking "
            + count(backlog)
            + " messages behind a held key, reads until the first unkeyed message",
        backlog - 1,
        reads.warmUpNanos(),
        note,
        Map.of("reads", reads.warmUpReads(), "firstReadMs", reads.firstReadNanos() / 1e6));
    progress.update("parked " + count(backlog) + ": " + note);
    return reads.steady(Map.of("heldBacklog", backlog));
  }

  /**
   * Timings of a read loop. The warm-up runs from the first read to the ack of the first read that
   * returned messages (reads before it park what waits behind a held key); the steady part is every
   * read and ack after it.
   */
  private record Reads(
      int warmUpReads, long firstReadNanos, long warmUpNanos, int steadyCount, long steadyNanos) {
    Measured steady(Map<String, Object> details) {
      return new Measured(steadyCount, steadyNanos, null, details);
    }
  }

  /**
   * Reads batches of {@link #READ_BATCH} on one connection at a time and acknowledges each, until
   * {@code n} messages are done. Fails if a read returns a keyed message: the only key is held.
   */
  private Reads reads(Broker broker, int n) {
    progress.phase("pgbroker: reading " + count(n) + " in batches of " + READ_BATCH);
    long t0 = System.nanoTime();
    long deadline = t0 + PgbrokerScenarios.timeout(n + sizes.heldBacklog()).toNanos();
    long firstRead = 0;
    long warmEnd = 0;
    int reads = 0;
    int warmUpReads = 0;
    int done = 0;
    int warmDone = 0;
    while (done < n) {
      long start = System.nanoTime();
      List<Delivery> batch = broker.read(QUEUE, READ_BATCH);
      if (reads++ == 0) {
        firstRead = System.nanoTime() - start;
      }
      for (Delivery d : batch) {
        if (d.orderingKey() != null) {
          throw new IllegalStateException("read " + d + " while its key is held");
        }
      }
      if (!batch.isEmpty()) {
        List<Delivery> stale = broker.ackAll(batch);
        if (!stale.isEmpty()) {
          throw new IllegalStateException("acks refused as stale: " + stale);
        }
        done += batch.size();
        if (warmUpReads == 0) {
          warmUpReads = reads;
          warmDone = done;
          warmEnd = System.nanoTime();
        }
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("gave up after " + reads + " reads, " + done + " done");
      }
      progress.update(String.format("%,d reads, %,d done", reads, done));
    }
    return new Reads(
        warmUpReads, firstRead, warmEnd - t0, done - warmDone, System.nanoTime() - warmEnd);
  }
}
