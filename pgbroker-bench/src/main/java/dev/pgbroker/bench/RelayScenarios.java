package dev.pgbroker.bench;

import static dev.pgbroker.bench.PgbrokerScenarios.QUEUE;
import static dev.pgbroker.bench.PgbrokerScenarios.count;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.Broker;
import dev.pgbroker.Json;
import dev.pgbroker.SendOptions;
import dev.pgbroker.bench.Load.Measured;
import dev.pgbroker.relay.Relay;
import dev.pgbroker.relay.RelayConfig;
import dev.pgbroker.relay.testing.KafkaServer;
import dev.pgbroker.relay.testing.RabbitMqServer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The outbox relay against a bare client of each broker, in the same run: confirmed messages per
 * second with 1 ordering key, 50 keys and none. The bare client publishes the same messages, with
 * the properties and headers the relay's sinks set, and gives the same guarantees the relay does:
 * RabbitMQ publisher confirms (persistent, mandatory), Kafka's idempotent producer with acks=all; a
 * key's next message only after its previous one was confirmed; at most the relay's window (256)
 * unconfirmed. Both are connected before their clocks start. The relay's time runs from the commit
 * of one transaction holding every message to the last acknowledgement in PostgreSQL; the bare
 * client's from its first publish to its last confirm. Each row notes how busy the machine's cores
 * were meanwhile and their CPU time per message, over every process: the relay, PostgreSQL and the
 * broker share them.
 */
final class RelayScenarios {
  private static final int WINDOW = RelayConfig.DEFAULT_WINDOW;
  private static final String DESTINATION = "bench-relay";

  private final PgbrokerScenarios pgbroker;
  private final Sizes sizes;
  private final Progress progress;

  RelayScenarios(Server server, Sizes sizes, Progress progress) {
    this.pgbroker = new PgbrokerScenarios(server, sizes, progress);
    this.sizes = sizes;
    this.progress = progress;
  }

  void run(Results r) throws Exception {
    int many = Math.max(1_000, Math.min(20_000, sizes.messages() / 25));
    // One key is one confirm round trip per message on either side: a tenth is plenty.
    int one = Math.max(200, many / 10);
    RabbitMqServer.ensureRunning();
    Rabbit rabbit = new Rabbit();
    warmUp(rabbit, many);
    rows(r, "rabbitmq", "RabbitMQ", one, many, rabbit);
    String given = System.getenv("PGBROKER_BENCH_KAFKA");
    try (KafkaServer local = given == null ? new KafkaServer() : null) {
      Kafka kafka = new Kafka(given != null ? given : local.bootstrapServers(), local);
      warmUp(kafka, many);
      rows(r, "kafka", "Kafka", one, many, kafka);
    }
  }

  /** A broker as the bench drives it: a fresh destination, a bare publish, the relay's config. */
  private interface Target {
    String prepare(int keys) throws Exception;

    IntFunction<CompletableFuture<?>> bare(String destination, int keys) throws Exception;

    void closeBare() throws Exception;

    RelayConfig config(String destination);
  }

  /**
   * Timed rounds a row: a bare and a relay run each, in turns. Five, not three: the broker's own
   * latency doubles and halves from one minute to the next (a bare client publishing one key's
   * chain to RabbitMQ: 390 to 1,046 msg/s in runs a minute apart), so medians of three still moved
   * by 15-30 points from one run to the next.
   */
  private static final int ROUNDS = 5;

  /** Untimed runs of each side before a broker's rows, alternately with 50 keys and none. */
  private static final int WARM_UP_RUNS = 4;

  /**
   * Runs both sides untimed until their code is compiled, as it is in a service that has run for a
   * while. Run alone ({@code --only relay}), the relay's rows began with pgbroker's code cold: in
   * RelayProbe, eight rounds of 20,000 messages to RabbitMQ in one JVM, the first three relayed
   * 3,600-6,500 msg/s and the later ones 7,000-11,700, and the bare client needed as many rounds to
   * reach its speed; in a cold round the JIT compiler's threads took more CPU than the relay's own.
   */
  private void warmUp(Target t, int n) throws Exception {
    for (int i = 0; i < WARM_UP_RUNS; i++) {
      int keys = i % 2 == 0 ? 50 : 0;
      progress.phase("warming up: run " + (i + 1) + " of " + WARM_UP_RUNS);
      bare(t, n, keys);
      pgbroker.fresh((b, ds) -> relay(b, ds, t, n, keys));
    }
  }

  /**
   * Rows of one broker. A single pair moved by a third between runs (one key: 49-157% of the bare
   * client), so each row takes {@link #ROUNDS} rounds after an untimed one. Each round runs both
   * sides, the relay first in every other round, so that a broker slowing down or speeding up
   * through a row weighs on both alike. A row's rate is the median of its runs; the relay's ratio
   * is the median of the rounds' own ratios, each taken between two runs a few seconds apart.
   */
  private void rows(Results r, String key, String name, int one, int many, Target t) {
    for (int keys : new int[] {1, 50, 0}) {
      int n = keys == 1 ? one : many;
      String what = count(n) + " messages, " + (keys == 0 ? "no ordering key" : keys + " key(s)");
      String rowKey = "relay." + key + "_" + (keys == 0 ? "none" : keys);
      String runs = "median of " + ROUNDS + ", in turns, after an untimed one of each";
      List<Measured> bares = new ArrayList<>();
      List<Measured> relays = new ArrayList<>();
      AtomicReference<Exception> relayFailed = new AtomicReference<>();
      Load.rate(
          r,
          progress,
          rowKey + "_bare",
          "bare " + name + " client, confirmed, " + what,
          () -> {
            for (int i = 0; i <= ROUNDS; i++) {
              // Round 0 is untimed: the timed ones begin bare-first.
              boolean relayFirst = i % 2 == 0;
              if (relayFirst) {
                relayRun(t, n, keys, relays, relayFailed);
              }
              bares.add(bare(t, n, keys));
              if (!relayFirst) {
                relayRun(t, n, keys, relays, relayFailed);
              }
            }
            bares.remove(0); // the untimed runs
            if (!relays.isEmpty()) {
              relays.remove(0);
            }
            return withNote(Load.median(bares), runs);
          });
      double bare = r.value(rowKey + "_bare").orElse(Double.NaN);
      Load.rate(
          r,
          progress,
          rowKey,
          "pgbroker relay to " + name + ", confirmed and acked, " + what,
          () -> {
            if (relayFailed.get() != null) {
              throw relayFailed.get();
            }
            if (relays.size() < ROUNDS || bares.size() < ROUNDS) {
              throw new IllegalStateException("not run: the bare client failed");
            }
            Measured m = Load.median(relays);
            double ofMedians = m.count() / (m.nanos() / 1e9) / bare;
            double ratio = medianRatio(bares, relays);
            return new Measured(
                m.count(),
                m.nanos(),
                String.format(
                        "%.0f%% of the bare client (target >= 70%%; the median of %d rounds' ratios;"
                            + " of the median rates: %.0f%%)",
                        100 * ratio, ROUNDS, 100 * ofMedians)
                    + "; "
                    + runs
                    + (m.note() == null ? "" : "; " + m.note()),
                Map.of(
                    "ratioToBare",
                    Math.round(1000 * ratio) / 1000.0,
                    "deadLettered",
                    m.details().get("deadLettered")));
          });
    }
  }

  /** One relay run into {@code relays}; after a failure, none more. */
  private void relayRun(
      Target t, int n, int keys, List<Measured> relays, AtomicReference<Exception> failed) {
    if (failed.get() != null) {
      return;
    }
    try {
      relays.add(pgbroker.fresh((b, ds) -> relay(b, ds, t, n, keys)));
    } catch (Exception e) {
      failed.set(e);
    }
  }

  /** The median of each round's relay rate over its bare rate (same count, so time over time). */
  static double medianRatio(List<Measured> bares, List<Measured> relays) {
    List<Double> ratios = new ArrayList<>();
    for (int i = 0; i < bares.size(); i++) {
      ratios.add((double) bares.get(i).nanos() / relays.get(i).nanos());
    }
    ratios.sort(null);
    return ratios.get(ratios.size() / 2);
  }

  /** The run with {@code note} before its own (the machine's CPU during it, where known). */
  private static Measured withNote(Measured m, String note) {
    return new Measured(
        m.count(), m.nanos(), m.note() == null ? note : note + "; " + m.note(), m.details());
  }

  private Measured bare(Target t, int n, int keys) throws Exception {
    String destination = t.prepare(keys);
    progress.phase("bare client: publishing " + count(n));
    IntFunction<CompletableFuture<?>> publish = t.bare(destination, keys);
    try {
      // One message first, as the relay's run sends one: into a topic just created, Kafka's first
      // produce met NOT_LEADER_OR_FOLLOWER and waited out a metadata refresh on the bare clock.
      publish.apply(-1).get(30, TimeUnit.SECONDS);
      Optional<MachineCpu> cpu = MachineCpu.now();
      long nanos = drive(n, keys, publish);
      return new Measured(n, nanos, MachineCpu.since(cpu, n), Map.of());
    } finally {
      t.closeBare();
    }
  }

  private Measured relay(Broker broker, HikariDataSource ds, Target t, int n, int keys)
      throws Exception {
    String destination = t.prepare(keys);
    try (Relay relay = Relay.start(broker, t.config(destination))) {
      // One message first, so that connecting and the first metadata fetch are not timed: the
      // bare client is connected before its clock starts too.
      broker.send(QUEUE, Json.of(Load.payload(-1)));
      awaitAcked(ds, 1);
      progress.phase("relay: sending " + count(n) + " in one transaction");
      try (java.sql.Connection tx = ds.getConnection()) {
        tx.setAutoCommit(false);
        sendInBlocks(broker, tx, QUEUE, n, keys, i -> Json.of(Load.payload(i)));
        progress.phase("relay: relaying " + count(n));
        tx.commit();
      }
      long t0 = System.nanoTime(); // every message became visible at the commit
      Optional<MachineCpu> cpu = MachineCpu.now();
      awaitAcked(ds, n + 1);
      long nanos = System.nanoTime() - t0;
      return new Measured(
          n, nanos, MachineCpu.since(cpu, n), Map.of("deadLettered", relay.stats().deadLettered()));
    }
  }

  /**
   * Sends messages 0..n-1 in {@code tx} in blocks of 1,000, each key's share of a block in one
   * batch: message i has key i % keys (0: none), so a key's messages are in their own order and the
   * keys interleave every block.
   */
  static void sendInBlocks(
      Broker broker,
      java.sql.Connection tx,
      String queue,
      int n,
      int keys,
      IntFunction<Object> payload) {
    for (int from = 0; from < n; from += 1000) {
      List<Object> block = new ArrayList<>();
      for (int i = from; i < Math.min(n, from + 1000); i++) {
        block.add(payload.apply(i));
      }
      if (keys == 0) {
        broker.sendBatch(tx, queue, block, SendOptions.none());
        continue;
      }
      for (int k = 0; k < keys; k++) {
        List<Object> mine = new ArrayList<>();
        for (int i = k; i < block.size(); i += keys) {
          mine.add(block.get(i));
        }
        if (!mine.isEmpty()) {
          broker.sendBatch(tx, queue, mine, SendOptions.none().orderingKey("key-" + k));
        }
      }
    }
  }

  /**
   * Waits until {@code n} messages of the queue were acknowledged in PostgreSQL. Reads the ack
   * counters alone: {@code broker.stats} counts the live messages as well, and polling that every
   * few milliseconds took PostgreSQL time from the relay it measures (25 ms a query under load).
   */
  private static void awaitAcked(HikariDataSource ds, long n) throws Exception {
    try (java.sql.Connection c = ds.getConnection();
        java.sql.PreparedStatement ps =
            c.prepareStatement(
                "select coalesce(sum(acked), 0) from "
                    + PgbrokerScenarios.SCHEMA
                    + ".counter where queue = ?")) {
      ps.setString(1, QUEUE); // the relayed queue
      while (true) {
        try (java.sql.ResultSet rs = ps.executeQuery()) {
          rs.next();
          if (rs.getLong(1) >= n) {
            return;
          }
        }
        Thread.sleep(5);
      }
    }
  }

  /**
   * Publishes messages 0..n-1 (message i has key i % keys): a key's next message once its previous
   * one was confirmed, at most {@link #WINDOW} unconfirmed. Returns the nanoseconds taken.
   */
  static long drive(int n, int keys, IntFunction<CompletableFuture<?>> publish) throws Exception {
    CountDownLatch done = new CountDownLatch(n);
    AtomicReference<Throwable> failed = new AtomicReference<>();
    ExecutorService next = Executors.newSingleThreadExecutor();
    long t0 = System.nanoTime();
    try {
      if (keys == 0) {
        Semaphore window = new Semaphore(WINDOW);
        for (int i = 0; i < n && failed.get() == null; i++) {
          window.acquire();
          publish
              .apply(i)
              .whenComplete(
                  (x, e) -> {
                    if (e != null) {
                      failed.compareAndSet(null, e);
                    }
                    window.release();
                    done.countDown();
                  });
        }
      } else {
        for (int k = 0; k < Math.min(keys, n); k++) {
          int first = k;
          next.execute(() -> chain(first, n, keys, publish, next, done, failed));
        }
      }
      while (!done.await(1, TimeUnit.SECONDS)) {
        if (failed.get() != null) {
          throw new IllegalStateException("bare publish failed: " + failed.get(), failed.get());
        }
      }
      if (failed.get() != null) {
        throw new IllegalStateException("bare publish failed: " + failed.get(), failed.get());
      }
      return System.nanoTime() - t0;
    } finally {
      next.shutdownNow();
    }
  }

  private static void chain(
      int i,
      int n,
      int keys,
      IntFunction<CompletableFuture<?>> publish,
      ExecutorService next,
      CountDownLatch done,
      AtomicReference<Throwable> failed) {
    publish
        .apply(i)
        .whenComplete(
            (x, e) -> {
              if (e != null) {
                failed.compareAndSet(null, e);
              }
              done.countDown();
              if (i + keys < n && e == null) {
                next.execute(() -> chain(i + keys, n, keys, publish, next, done, failed));
              }
            });
  }

  private static byte[] body(int i) {
    return utf8(Load.payload(i));
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** RabbitMQ: one durable queue, purged before each row, reached through the default exchange. */
  private static final class Rabbit implements Target {
    private Connection connection;

    @Override
    public String prepare(int keys) throws Exception {
      try (Connection c = RabbitMqServer.factory().newConnection();
          Channel ch = c.createChannel()) {
        ch.queueDeclare(DESTINATION, true, false, false, null);
        ch.queuePurge(DESTINATION);
      }
      return DESTINATION;
    }

    @Override
    public IntFunction<CompletableFuture<?>> bare(String destination, int keys) throws Exception {
      connection = RabbitMqServer.factory().newConnection();
      Channel ch = connection.createChannel();
      ch.confirmSelect();
      ConcurrentNavigableMap<Long, CompletableFuture<Void>> pending = new ConcurrentSkipListMap<>();
      ch.addConfirmListener(
          (seq, multiple) -> settle(pending, seq, multiple, null),
          (seq, multiple) -> settle(pending, seq, multiple, "nacked"));
      return i -> {
        Map<String, Object> headers = new HashMap<>();
        headers.put(Relay.ID_HEADER, (long) i);
        headers.put(Relay.QUEUE_HEADER, QUEUE);
        if (keys != 0) {
          headers.put(Relay.ORDERING_KEY_HEADER, "key-" + i % keys);
        }
        AMQP.BasicProperties props = // what the relay's sink sets
            new AMQP.BasicProperties.Builder()
                .messageId(Integer.toString(i))
                .contentType("application/json")
                .deliveryMode(2)
                .timestamp(new Date())
                .headers(headers)
                .build();
        CompletableFuture<Void> f = new CompletableFuture<>();
        synchronized (ch) {
          pending.put(ch.getNextPublishSeqNo(), f);
          try {
            ch.basicPublish("", destination, true, props, body(i));
          } catch (Exception e) {
            f.completeExceptionally(e);
          }
        }
        return f;
      };
    }

    private static void settle(
        ConcurrentNavigableMap<Long, CompletableFuture<Void>> pending,
        long seq,
        boolean multiple,
        String error) {
      Map<Long, CompletableFuture<Void>> done =
          multiple ? pending.headMap(seq, true) : pending.subMap(seq, true, seq, true);
      for (Long s : List.copyOf(done.keySet())) {
        CompletableFuture<Void> f = pending.remove(s);
        if (error == null) {
          f.complete(null);
        } else {
          f.completeExceptionally(new IllegalStateException(error));
        }
      }
    }

    @Override
    public void closeBare() throws Exception {
      connection.close();
    }

    @Override
    public RelayConfig config(String destination) {
      return RelayConfig.rabbitMq(RabbitMqServer.URI)
          .queue(QUEUE)
          .route(QUEUE, "", destination)
          .build();
    }
  }

  /** Kafka: a topic of 6 partitions per row; the relay's producer settings for the bare one. */
  private static final class Kafka implements Target {
    private final String bootstrap;
    private final KafkaServer server;
    private KafkaProducer<byte[], byte[]> producer;

    /** {@code server} is null for a Kafka the bench did not start. */
    Kafka(String bootstrap, KafkaServer server) {
      this.bootstrap = bootstrap;
      this.server = server;
    }

    @Override
    public String prepare(int keys) throws Exception {
      String topic = DESTINATION + "-" + keys + "-" + Long.toHexString(System.nanoTime());
      if (server != null) {
        server.createTopic(topic, 6);
      } else {
        try (var admin =
            org.apache.kafka.clients.admin.Admin.create(Map.of("bootstrap.servers", bootstrap))) {
          admin
              .createTopics(
                  List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 6, (short) 1)))
              .all()
              .get();
        }
      }
      return topic;
    }

    @Override
    public IntFunction<CompletableFuture<?>> bare(String topic, int keys) {
      producer =
          new KafkaProducer<>(
              Map.of(
                  "bootstrap.servers", bootstrap,
                  "acks", "all",
                  "enable.idempotence", "true",
                  "max.in.flight.requests.per.connection", "5",
                  "linger.ms", "5"),
              new ByteArraySerializer(),
              new ByteArraySerializer());
      producer.partitionsFor(topic); // metadata before the clock starts, as the relay's warm-up
      return i -> {
        byte[] key = keys == 0 ? null : ("key-" + i % keys).getBytes(StandardCharsets.UTF_8);
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, key, body(i));
        record.headers().add(Relay.ID_HEADER, utf8(Integer.toString(i))); // as the relay's sink
        record.headers().add(Relay.QUEUE_HEADER, utf8(QUEUE));
        if (key != null) {
          record.headers().add(Relay.ORDERING_KEY_HEADER, key);
        }
        CompletableFuture<Void> f = new CompletableFuture<>();
        producer.send(
            record,
            (m, e) -> {
              if (e == null) {
                f.complete(null);
              } else {
                f.completeExceptionally(e);
              }
            });
        return f;
      };
    }

    @Override
    public void closeBare() {
      producer.close();
    }

    @Override
    public RelayConfig config(String topic) {
      return RelayConfig.kafka(bootstrap).queue(QUEUE).topic(QUEUE, topic).build();
    }
  }
}
