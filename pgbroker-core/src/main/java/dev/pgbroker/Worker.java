package dev.pgbroker;

import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs handlers for queues: fetches in batches sized to free capacity, wakes on LISTEN/NOTIFY
 * (polling slowly as a backstop, and timing the next delayed message), acknowledges in batches,
 * keeps leases alive while handlers run, retries failures with the queue's backoff, and drains
 * in-flight work on {@link #close()}.
 *
 * <pre>{@code
 * Worker worker = broker.worker()
 *     .handle("emails", Email.class, email -> mailer.send(email))
 *     .handleInTransaction("orders", (tx, delivery) -> book(tx, delivery))
 *     .start();
 * }</pre>
 *
 * <p>A handler that returns normally has its message acknowledged; one that throws has it retried
 * after the queue's backoff, or after the delay of a {@link RetryLaterException}; a {@link
 * PoisonMessageException} sends it straight to the dead-letter store. Safe to close from any
 * thread; closing twice is harmless.
 */
public final class Worker implements AutoCloseable {
  public static final int DEFAULT_CONCURRENCY = 8;
  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);
  public static final Duration DEFAULT_ACK_FLUSH_INTERVAL = Duration.ofMillis(5);
  public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration DEFAULT_MAINTENANCE_INTERVAL = Duration.ofSeconds(30);

  private static final Logger log = LoggerFactory.getLogger(Worker.class);

  /** Handles one delivery; throwing fails it. */
  @FunctionalInterface
  public interface Handler {
    void handle(Delivery delivery) throws Exception;
  }

  /**
   * Handles one delivery without holding a thread while the work is under way, as when it waits for
   * a remote confirm: returns at once with a stage that completes when the work is done. The
   * message is acknowledged when the stage completes normally and fails, as a {@link Handler} that
   * throws, when it completes exceptionally or the call throws. The queue's concurrency bounds the
   * stages pending at once; a key's next message is handed over only after the stage of its
   * previous one completed normally. Stages that complete later than the drain timeout of {@link
   * Worker#close()} are not settled: their messages are redelivered. The calls come from one thread
   * per queue at a time, in turn with the settling of completed stages: a call that blocks holds up
   * the queue.
   */
  @FunctionalInterface
  public interface AsyncHandler {
    CompletionStage<?> handle(Delivery delivery) throws Exception;
  }

  /** Handles one payload, read with Jackson into the type given at registration. */
  @FunctionalInterface
  public interface PayloadHandler<T> {
    void handle(T payload) throws Exception;
  }

  /**
   * Handles one delivery inside the transaction in which its ack commits: the handler's own writes
   * on {@code tx} and the ack commit together or not at all. Do not commit {@code tx}.
   */
  @FunctionalInterface
  public interface TransactionalHandler {
    void handle(Connection tx, Delivery delivery) throws Exception;
  }

  /**
   * Runs inside the transaction that moves a message to the dead-letter store, after the move:
   * writes on {@code tx} commit together with it, and a hook that throws rolls the move back (the
   * message is then retried after its backoff, as one more attempt). Do not commit {@code tx}.
   */
  @FunctionalInterface
  public interface DeadLetterHook {
    void handle(Connection tx, DeadLetter deadLetter) throws Exception;
  }

  /** What the broker hands the worker: where the database is and the statements it runs. */
  record Backend(
      DataSource dataSource,
      String schema,
      QueueSql queues,
      MessageSql messages,
      DeadLetterSql deadLetters,
      ScheduleSql schedules) {}

  private final Builder settings;
  private final List<QueueRunner> runners = new ArrayList<>();
  private final ExecutorService handlerThreads;
  private final ScheduledExecutorService heartbeats;
  private final AckBuffer acks;
  private final WakeChannel wakeChannel;
  private final ServiceRunner services;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final ScheduleFirer schedules;
  private final Thread shutdownHook;

  private Worker(Builder b, Map<String, Duration> visibility) {
    Backend backend = b.backend;
    this.settings = b;
    WorkerListener listener = new GuardedListener(b.listener);
    this.handlerThreads = handlerExecutor();
    this.heartbeats = Executors.newSingleThreadScheduledExecutor(daemon("pgbroker-heartbeat"));
    // With LISTEN, an ack that frees a parked message is heard by its NOTIFY; without, every
    // keyed ack wakes this worker's fetcher, as the key's next message may be due now.
    this.acks =
        new AckBuffer(
            backend.messages(),
            listener,
            b.listenNotify ? queue -> {} : this::wake,
            b.ackFlushInterval);
    for (Map.Entry<String, QueueRunner.Handling> e : b.handlers.entrySet()) {
      String queue = e.getKey();
      runners.add(
          new QueueRunner(
              backend.messages(),
              backend.deadLetters(),
              queue,
              e.getValue(),
              b.deadLetterHooks.get(queue),
              b.concurrency.getOrDefault(queue, DEFAULT_CONCURRENCY),
              visibility.get(queue),
              b.pollInterval,
              listener,
              acks,
              handlerThreads,
              heartbeats));
    }
    this.wakeChannel =
        b.listenNotify
            ? new WakeChannel(
                b.listenDataSource != null ? b.listenDataSource : backend.dataSource(),
                Notifier.channel(backend.schema()),
                this::wake,
                listener)
            : null;
    this.services =
        new ServiceRunner(
            backend.dataSource(),
            backend.schema(),
            List.of(
                Maintenance.service(backend.dataSource(), backend.schema(), b.maintenanceInterval),
                HotTableVacuum.service(
                    backend.dataSource(), backend.schema(), b.maintenanceInterval)),
            listener);
    this.schedules = new ScheduleFirer(backend.schedules(), listener);
    this.shutdownHook = b.shutdownHook ? new Thread(this::close, "pgbroker-worker-shutdown") : null;
  }

  private Worker start() {
    acks.start();
    if (wakeChannel != null) {
      wakeChannel.start();
    }
    runners.forEach(QueueRunner::start);
    services.start();
    schedules.start();
    if (shutdownHook != null) {
      Runtime.getRuntime().addShutdownHook(shutdownHook);
    }
    return this;
  }

  private void wake(String queue) {
    for (QueueRunner r : runners) {
      if (queue == null || r.queue().equals(queue)) {
        r.wake();
      }
    }
  }

  /** Deliveries whose handler is running now, across queues. */
  public int inFlight() {
    return runners.stream().mapToInt(QueueRunner::inFlight).sum();
  }

  /** Stops and drains within the drain timeout given to the builder. */
  @Override
  public void close() {
    close(settings.drainTimeout);
  }

  /**
   * Stops fetching, waits up to {@code timeout} for running handlers, flushes acks and gives back
   * leases of work not started. Returns true if every running handler finished in time; those that
   * did not keep their lease until it runs out, and their message is then redelivered.
   */
  public boolean close(Duration timeout) {
    if (!closed.compareAndSet(false, true)) {
      return true;
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    runners.forEach(QueueRunner::stop);
    if (wakeChannel != null) {
      wakeChannel.stop();
    }
    handlerThreads.shutdown();
    boolean drained;
    try {
      drained =
          handlerThreads.awaitTermination(
              Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      for (QueueRunner r : runners) {
        drained &= r.awaitIdle(deadline); // async slots hold no thread while their stage runs
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      drained = false;
    }
    if (!drained) {
      log.warn(
          "pgbroker: {} handler(s) still running after the drain timeout {}; their messages"
              + " are redelivered once their leases run out",
          inFlight(),
          timeout);
      handlerThreads.shutdownNow();
    }
    acks.close(Duration.ofNanos(Math.max(deadline - System.nanoTime(), 1_000_000_000L)));
    heartbeats.shutdownNow();
    services.stop(Duration.ofSeconds(5));
    schedules.stop(Duration.ofSeconds(5));
    if (shutdownHook != null && !Thread.currentThread().equals(shutdownHook)) {
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException jvmAlreadyExiting) {
        // nothing to undo
      }
    }
    return drained;
  }

  /** Virtual threads where the JVM has them (21+), else a cached pool of platform threads. */
  private static ExecutorService handlerExecutor() {
    try {
      return (ExecutorService)
          Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
    } catch (ReflectiveOperationException onJava17) {
      return Executors.newCachedThreadPool(daemon("pgbroker-handler"));
    }
  }

  static ThreadFactory daemon(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /** Configures a {@link Worker}; each setter checks its value at once. */
  public static final class Builder {
    private final Backend backend;
    private final Map<String, QueueRunner.Handling> handlers = new LinkedHashMap<>();
    private final Map<String, Integer> concurrency = new LinkedHashMap<>();
    private final Map<String, DeadLetterHook> deadLetterHooks = new LinkedHashMap<>();
    private Duration pollInterval = DEFAULT_POLL_INTERVAL;
    private Duration ackFlushInterval = DEFAULT_ACK_FLUSH_INTERVAL;
    private Duration drainTimeout = DEFAULT_DRAIN_TIMEOUT;
    private Duration maintenanceInterval = DEFAULT_MAINTENANCE_INTERVAL;
    private boolean listenNotify = true;
    private DataSource listenDataSource;
    private boolean shutdownHook;
    private WorkerListener listener = new WorkerListener() {};

    Builder(Backend backend) {
      this.backend = backend;
    }

    /** Runs {@code handler} for each message of {@code queue}. */
    public Builder handle(String queue, Handler handler) {
      Objects.requireNonNull(handler, "handler");
      return register(queue, new QueueRunner.Handling(handler, null, null));
    }

    /** Runs {@code handler} with each payload of {@code queue} read into {@code type}. */
    public <T> Builder handle(String queue, Class<T> type, PayloadHandler<T> handler) {
      Objects.requireNonNull(type, "type");
      Objects.requireNonNull(handler, "handler");
      return handle(queue, d -> handler.handle(d.payload(type)));
    }

    /** Runs {@code handler} inside the transaction that acknowledges its message. */
    public Builder handleInTransaction(String queue, TransactionalHandler handler) {
      Objects.requireNonNull(handler, "handler");
      return register(queue, new QueueRunner.Handling(null, handler, null));
    }

    /**
     * Runs {@code handler} for each message of {@code queue}, acknowledging it when the stage the
     * handler returned completes; up to the queue's {@link #concurrency} stages are pending at
     * once.
     */
    public Builder handleAsync(String queue, AsyncHandler handler) {
      Objects.requireNonNull(handler, "handler");
      return register(queue, new QueueRunner.Handling(null, null, handler));
    }

    /**
     * Runs {@code hook} in the same transaction as each move of one of {@code queue}'s messages to
     * the dead-letter store by this worker (attempts used up, or a {@link PoisonMessageException}),
     * like Deno's {@code keysIfUndelivered}. Leases that run out on a last attempt are moved by
     * whichever read comes next, without the hook; so are messages dropped by a queue that keeps no
     * dead letters.
     */
    public Builder onDeadLetter(String queue, DeadLetterHook hook) {
      Checks.queueName(queue);
      Objects.requireNonNull(hook, "hook");
      if (deadLetterHooks.putIfAbsent(queue, hook) != null) {
        throw new IllegalArgumentException("queue '" + queue + "' already has a dead-letter hook");
      }
      return this;
    }

    /** Most handlers running at once for {@code queue} (default 8). */
    public Builder concurrency(String queue, int limit) {
      Checks.queueName(queue);
      if (limit < 1 || limit > 10_000) {
        throw new IllegalArgumentException("concurrency must be between 1 and 10000, was " + limit);
      }
      concurrency.put(queue, limit);
      return this;
    }

    /** How often an idle worker polls when no notification comes (default 1s). */
    public Builder pollInterval(Duration interval) {
      QueueOptions.positiveMillis("pollInterval", interval);
      this.pollInterval = interval;
      return this;
    }

    /**
     * Longest an acknowledgement waits to be sent with others (default 5ms). An ack that frees
     * nothing may wait up to 100ms or a quarter of the visibility timeout, whichever is shorter,
     * and usually goes with a later one: that of an ordering key's message whose run goes on (the
     * worker leases a key's backlog as one run, handled in order), and that of a message without a
     * key while other messages of its queue are buffered or being handled.
     */
    public Builder ackFlushInterval(Duration interval) {
      QueueOptions.positiveMillis("ackFlushInterval", interval);
      this.ackFlushInterval = interval;
      return this;
    }

    /** How long {@link Worker#close()} waits for running handlers (default 30s). */
    public Builder drainTimeout(Duration timeout) {
      QueueOptions.nonNegativeMillis("drainTimeout", timeout);
      this.drainTimeout = timeout;
      return this;
    }

    /**
     * How often upkeep (pruning, counter folding, hot-table vacuum) runs; the instance holding the
     * leader lease runs it for all (default 30s).
     */
    public Builder maintenanceInterval(Duration interval) {
      QueueOptions.positiveMillis("maintenanceInterval", interval);
      this.maintenanceInterval = interval;
      return this;
    }

    /** Whether to wake on LISTEN/NOTIFY (default true); false polls only. */
    public Builder listenNotify(boolean enabled) {
      this.listenNotify = enabled;
      return this;
    }

    /**
     * Where the one LISTEN connection comes from (default: the broker's data source). Behind a
     * pooler in transaction mode, such as PgBouncer, a LISTEN never hears anything, so point this
     * at PostgreSQL itself while fetches and acks go through the pooler.
     */
    public Builder listenDataSource(DataSource dataSource) {
      this.listenDataSource = Objects.requireNonNull(dataSource, "dataSource");
      return this;
    }

    /** Whether a JVM shutdown hook closes the worker (default false). */
    public Builder shutdownHook(boolean enabled) {
      this.shutdownHook = enabled;
      return this;
    }

    public Builder listener(WorkerListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /** Checks that every queue exists, then starts fetching. */
    public Worker start() {
      if (handlers.isEmpty()) {
        throw new IllegalStateException(
            "a worker needs at least one handler; call handle(queue, ...) first");
      }
      for (String queue : concurrency.keySet()) {
        if (!handlers.containsKey(queue)) {
          throw new IllegalStateException(
              "concurrency set for queue '" + queue + "' which has no handler");
        }
      }
      for (String queue : deadLetterHooks.keySet()) {
        if (!handlers.containsKey(queue)) {
          throw new IllegalStateException(
              "dead-letter hook set for queue '" + queue + "' which has no handler");
        }
      }
      if (listenDataSource != null && !listenNotify) {
        throw new IllegalStateException(
            "listenDataSource is set but listenNotify is false; drop one of them");
      }
      checkPoolSize();
      Map<String, Duration> visibility = new LinkedHashMap<>();
      for (String queue : handlers.keySet()) {
        visibility.put(
            queue, backend.queues().options(queue).visibilityTimeout()); // unknown: throws
      }
      return new Worker(this, visibility).start();
    }

    /**
     * A pool too small for the LISTEN connection plus one fetch and one ack at a time would let the
     * worker start and then only log timeouts. Pools that say their size (HikariCP, DBCP, Tomcat,
     * c3p0) are checked; others are trusted.
     */
    private void checkPoolSize() {
      Integer limit = PoolSize.of(backend.dataSource());
      int needed = holdsListen() ? 2 : 1;
      if (limit != null && limit < needed) {
        throw new IllegalStateException(
            "the connection pool allows "
                + limit
                + " connection(s), but a worker needs at least "
                + needed
                + " (1 held for LISTEN, 1 for fetches and acknowledgements)"
                + "; for full speed allow "
                + recommendedPoolSize()
                + " (more with transactional handlers running at once)");
      }
    }

    private int recommendedPoolSize() {
      return (holdsListen() ? 1 : 0) + handlers.size() + 3;
    }

    /** Whether the LISTEN connection comes out of the broker's own pool. */
    private boolean holdsListen() {
      return listenNotify && listenDataSource == null;
    }

    private Builder register(String queue, QueueRunner.Handling handling) {
      Checks.queueName(queue);
      if (handlers.putIfAbsent(queue, handling) != null) {
        throw new IllegalArgumentException("queue '" + queue + "' already has a handler");
      }
      return this;
    }
  }
}
