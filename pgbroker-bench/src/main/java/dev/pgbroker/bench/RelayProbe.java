package dev.pgbroker.bench;

import com.rabbitmq.client.Channel;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.Broker;
import dev.pgbroker.Delivery;
import dev.pgbroker.Json;
import dev.pgbroker.QueueOptions;
import dev.pgbroker.relay.Relay;
import dev.pgbroker.relay.RelayConfig;
import dev.pgbroker.relay.Sink;
import dev.pgbroker.relay.testing.RabbitMqServer;
import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * pgbroker's side of the relay alone: the relay and its worker publishing to a sink that confirms
 * every message after a fixed delay, so that neither broker's own speed nor its noise is in the
 * figure. Prints when the first and the last message were confirmed and when the last was
 * acknowledged in PostgreSQL, counted from the commit of one transaction holding them all; the gap
 * between the last confirm and the last ack is what acknowledging costs, and the JVM's peak thread
 * count what the window costs in threads.
 *
 * <pre>
 * java -cp pgbroker-bench/target/pgbroker-bench-0.1.0-SNAPSHOT-all.jar dev.pgbroker.bench.RelayProbe \
 *     'jdbc:postgresql://127.0.0.1:5432/relaybench?user=postgres' 10000 50 20
 * </pre>
 *
 * <p>Arguments: JDBC URL, messages, ordering keys (0: none), confirm delay in ms (0: at once; or
 * {@code rabbitmq}: the real RabbitMQ server of the relay's tests instead of the stand-in sink),
 * and optionally the relay's window (default 256). It drops and recreates the schema {@code
 * relay_probe} there.
 */
final class RelayProbe {
  private static final String SCHEMA = "relay_probe";
  private static final String QUEUE = "probe";

  private RelayProbe() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 4 && args.length != 5) {
      System.err.println(
          "usage: RelayProbe JDBC-URL MESSAGES KEYS CONFIRM-DELAY-MS|rabbitmq [WINDOW]");
      System.exit(2);
    }
    int n = Integer.parseInt(args[1]);
    int keys = Integer.parseInt(args[2]);
    boolean rabbit = args[3].equals("rabbitmq");
    long delayMs = rabbit ? 0 : Long.parseLong(args[3]);
    int window = args.length == 5 ? Integer.parseInt(args[4]) : RelayConfig.DEFAULT_WINDOW;
    HikariConfig hc = new HikariConfig();
    hc.setJdbcUrl(args[0]);
    hc.setMaximumPoolSize(16);
    ScheduledExecutorService confirmer = Executors.newScheduledThreadPool(2);
    try (HikariDataSource ds = new HikariDataSource(hc)) {
      try (Connection c = ds.getConnection();
          Statement s = c.createStatement()) {
        s.execute("drop schema if exists " + SCHEMA + " cascade");
      }
      try (Broker broker = Broker.create(ds).schema(SCHEMA).build()) {
        broker.createQueue(QUEUE, QueueOptions.defaults().maxAttempts(1000));
        AtomicLong confirmed = new AtomicLong();
        Sink sink =
            new Sink() {
              @Override
              public CompletableFuture<Void> publish(Delivery message) {
                CompletableFuture<Void> f = new CompletableFuture<>();
                Runnable confirm =
                    () -> {
                      confirmed.incrementAndGet();
                      f.complete(null);
                    };
                if (delayMs == 0) {
                  confirm.run();
                } else {
                  confirmer.schedule(confirm, delayMs, TimeUnit.MILLISECONDS);
                }
                return f;
              }

              @Override
              public void close() {}
            };
        // The Kafka address is never used: the sink given replaces the configured one.
        RelayConfig config = RelayConfig.kafka("127.0.0.1:1").queue(QUEUE).window(window).build();
        try (Relay relay =
            rabbit ? toRabbitMq(broker, window) : Relay.start(broker, config, sink)) {
          broker.send(QUEUE, Json.of("{}")); // connects and warms up before the clock starts
          awaitAcked(ds, 1);
          for (int round = 1; round <= ROUNDS; round++) {
            confirmed.set(0);
            if (rabbit) {
              emptyRabbitMqQueue();
            }
            long before = relay.stats().confirmed();
            probe(
                ds,
                broker,
                n,
                keys,
                rabbit ? "to RabbitMQ" : "confirmed after " + delayMs + " ms",
                rabbit ? everyHalfSecond(() -> relay.stats().confirmed() - before) : confirmed::get,
                round);
          }
        }
      }
    } finally {
      confirmer.shutdownNow();
    }
  }

  /**
   * The supplier's value, asked at most every half second: the relay's stats query PostgreSQL (its
   * lag), which with 20,000 messages live took 7-10 ms a query; asked every 2 ms, then every 50,
   * they took more of PostgreSQL's time than the relay, then a fifth of a core. So the confirm
   * times printed for RabbitMQ are good to half a second.
   */
  private static LongSupplier everyHalfSecond(LongSupplier s) {
    long[] cached = {0, 0}; // value, when (nanoTime); the probe's loop is one thread
    return () -> {
      long now = System.nanoTime();
      if (cached[1] == 0 || now - cached[1] >= 500_000_000) {
        cached[0] = s.getAsLong();
        cached[1] = now;
      }
      return cached[0];
    };
  }

  /** A relay to the RabbitMQ server of the relay's tests, into a durable queue emptied first. */
  private static Relay toRabbitMq(Broker broker, int window) throws Exception {
    emptyRabbitMqQueue();
    return Relay.start(
        broker,
        RelayConfig.rabbitMq(RabbitMqServer.URI)
            .queue(QUEUE)
            .route(QUEUE, "", QUEUE)
            .window(window)
            .build());
  }

  /** Declares the probe's RabbitMQ queue, or empties it: each round starts from an empty one. */
  private static void emptyRabbitMqQueue() throws Exception {
    try (com.rabbitmq.client.Connection c = RabbitMqServer.factory().newConnection();
        Channel ch = c.createChannel()) {
      ch.queueDeclare(QUEUE, true, false, false, null);
      ch.queuePurge(QUEUE);
    }
  }

  /**
   * Rounds in one JVM ({@code -Drounds=N}, default 3): the first ones pay for the JIT, the later
   * ones show the warm cost (to RabbitMQ without keys, three rounds were not enough). Each prints
   * the machine's CPU time per message and this JVM's share of it.
   */
  private static final int ROUNDS = Integer.getInteger("rounds", 3);

  private static void probe(
      HikariDataSource ds,
      Broker broker,
      int n,
      int keys,
      String sinkName,
      LongSupplier confirmed,
      int round)
      throws Exception {
    long ackedBefore = awaitAcked(ds, 0);
    sendInOneTransaction(broker, ds, n, keys);
    Optional<MachineCpu> machine = MachineCpu.now();
    long jvmCpu = JVM.getProcessCpuTime();
    long t0 = System.nanoTime();
    long first = 0;
    long last = 0;
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement(ACKED)) {
      ps.setString(1, QUEUE); // the relayed queue
      while (acked(ps) < ackedBefore + n) {
        long now = System.nanoTime();
        first = first == 0 && confirmed.getAsLong() >= 1 ? now : first;
        last = last == 0 && confirmed.getAsLong() >= n ? now : last;
        Thread.sleep(2);
      }
    }
    long t = System.nanoTime() - t0;
    last = last == 0 ? System.nanoTime() : last;
    System.out.printf(
        "round %d: %d messages, %d keys, %s: %.0f msg/s acked; first confirm"
            + " at %.3f s, last at %.3f s, last ack at %.3f s; %d threads at most; %s, of it"
            + " this JVM %.3f ms a message%n",
        round,
        n,
        keys,
        sinkName,
        n / (t / 1e9),
        (first - t0) / 1e9,
        (last - t0) / 1e9,
        t / 1e9,
        ManagementFactory.getThreadMXBean().getPeakThreadCount(),
        MachineCpu.since(machine, n),
        (JVM.getProcessCpuTime() - jvmCpu) / 1e6 / n);
  }

  private static final com.sun.management.OperatingSystemMXBean JVM =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  private static final String ACKED =
      "select coalesce(sum(acked), 0) from " + SCHEMA + ".counter where queue = ?";

  /** Sends the messages as the bench's relay rows do, in one transaction. */
  private static void sendInOneTransaction(Broker broker, HikariDataSource ds, int n, int keys)
      throws Exception {
    try (Connection tx = ds.getConnection()) {
      tx.setAutoCommit(false);
      RelayScenarios.sendInBlocks(broker, tx, QUEUE, n, keys, i -> Json.of("{\"i\":" + i + "}"));
      tx.commit();
    }
  }

  /** Waits until at least {@code n} messages were acknowledged; returns how many were. */
  private static long awaitAcked(HikariDataSource ds, long n) throws Exception {
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement(ACKED)) {
      ps.setString(1, QUEUE); // the relayed queue
      for (long acked; ; Thread.sleep(2)) {
        if ((acked = acked(ps)) >= n) {
          return acked;
        }
      }
    }
  }

  private static long acked(PreparedStatement ps) throws Exception {
    try (ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
