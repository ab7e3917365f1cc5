package dev.pgbroker.spring;

import dev.pgbroker.Broker;
import dev.pgbroker.QueueOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.springframework.boot.context.properties.ConfigurationProperties;

/** The {@code pgbroker.*} properties; every one is optional. */
@ConfigurationProperties("pgbroker")
public class PgBrokerProperties {
  /** Whether to configure a Broker from the application's DataSource. */
  private boolean enabled = true;

  /** The PostgreSQL schema holding pgbroker's tables and functions. */
  private String schema = Broker.DEFAULT_SCHEMA;

  /** Whether to apply missing schema migrations on start (off: run `pgbroker migrate`). */
  private boolean migrate = true;

  /**
   * Queues created on start, or brought in step with the settings given here, by name. Queues of
   * listeners are created with defaults when missing.
   */
  private Map<String, Queue> queues = new LinkedHashMap<>();

  /**
   * Recurring schedules put on start, by name: each tick sends one message to its queue, once
   * across all instances. Ticks are fired by running workers (an instance with a listener).
   */
  private Map<String, ScheduleSpec> schedules = new LinkedHashMap<>();

  private final Worker worker = new Worker();

  private final Health health = new Health();

  public boolean isEnabled() {
    return enabled;
  }

  public void setEnabled(boolean enabled) {
    this.enabled = enabled;
  }

  public String getSchema() {
    return schema;
  }

  public void setSchema(String schema) {
    this.schema = schema;
  }

  public boolean isMigrate() {
    return migrate;
  }

  public void setMigrate(boolean migrate) {
    this.migrate = migrate;
  }

  public Map<String, Queue> getQueues() {
    return queues;
  }

  public void setQueues(Map<String, Queue> queues) {
    this.queues = queues;
  }

  public Map<String, ScheduleSpec> getSchedules() {
    return schedules;
  }

  public void setSchedules(Map<String, ScheduleSpec> schedules) {
    this.schedules = schedules;
  }

  public Worker getWorker() {
    return worker;
  }

  public Health getHealth() {
    return health;
  }

  /** One queue's settings; those left unset keep the queue's current value (or the default). */
  public static class Queue {
    /** How long a read leases a message. */
    private Duration visibilityTimeout;

    /** Deliveries before a message moves to the dead-letter store. */
    private Integer maxAttempts;

    /** Explicit retry delays, one per retry (the last repeats); replaces exponential backoff. */
    private List<Duration> backoffSchedule = new ArrayList<>();

    /** First delay of exponential backoff; set together with backoff-max. */
    private Duration backoffBase;

    /** Longest delay of exponential backoff; set together with backoff-base. */
    private Duration backoffMax;

    /** Whether exhausted messages are kept in the dead-letter store (false: dropped). */
    private Boolean deadLetter;

    /** How long acknowledged messages stay in the archive (0: not kept). */
    private Duration retention;

    /** How long a finished message's dedup key still counts. */
    private Duration dedupWindow;

    /** Largest payload accepted, in bytes of JSON. */
    private Integer maxPayloadBytes;

    /** Whether SQL sends wake workers with a NOTIFY at their commit. */
    private Boolean notifySqlSends;

    /** Handlers running at once for this queue's listener; wins over the annotation. */
    private Integer concurrency;

    public Duration getVisibilityTimeout() {
      return visibilityTimeout;
    }

    public void setVisibilityTimeout(Duration visibilityTimeout) {
      this.visibilityTimeout = visibilityTimeout;
    }

    public Integer getMaxAttempts() {
      return maxAttempts;
    }

    public void setMaxAttempts(Integer maxAttempts) {
      this.maxAttempts = maxAttempts;
    }

    public List<Duration> getBackoffSchedule() {
      return backoffSchedule;
    }

    public void setBackoffSchedule(List<Duration> backoffSchedule) {
      this.backoffSchedule = backoffSchedule;
    }

    public Duration getBackoffBase() {
      return backoffBase;
    }

    public void setBackoffBase(Duration backoffBase) {
      this.backoffBase = backoffBase;
    }

    public Duration getBackoffMax() {
      return backoffMax;
    }

    public void setBackoffMax(Duration backoffMax) {
      this.backoffMax = backoffMax;
    }

    public Boolean getDeadLetter() {
      return deadLetter;
    }

    public void setDeadLetter(Boolean deadLetter) {
      this.deadLetter = deadLetter;
    }

    public Duration getRetention() {
      return retention;
    }

    public void setRetention(Duration retention) {
      this.retention = retention;
    }

    public Duration getDedupWindow() {
      return dedupWindow;
    }

    public void setDedupWindow(Duration dedupWindow) {
      this.dedupWindow = dedupWindow;
    }

    public Integer getMaxPayloadBytes() {
      return maxPayloadBytes;
    }

    public void setMaxPayloadBytes(Integer maxPayloadBytes) {
      this.maxPayloadBytes = maxPayloadBytes;
    }

    public Boolean getNotifySqlSends() {
      return notifySqlSends;
    }

    public void setNotifySqlSends(Boolean notifySqlSends) {
      this.notifySqlSends = notifySqlSends;
    }

    public Integer getConcurrency() {
      return concurrency;
    }

    public void setConcurrency(Integer concurrency) {
      this.concurrency = concurrency;
    }
  }

  /** One recurring schedule: a queue, cron or every, and the payload of each tick's message. */
  public static class ScheduleSpec {
    /** The queue each tick's message goes to (created with defaults when missing). */
    private String queue;

    /** A cron expression: 5 fields, 6 with seconds first, or a macro such as @hourly. */
    private String cron;

    /** The time zone cron fields are read in. */
    private String zone = "UTC";

    /** A fixed interval instead of cron (at least 1s). */
    private Duration every;

    /** The JSON payload of every tick's message. */
    private String payload = "{}";

    /** Ticks missed while no instance ran that are still sent, oldest first. */
    private int catchUp;

    public String getQueue() {
      return queue;
    }

    public void setQueue(String queue) {
      this.queue = queue;
    }

    public String getCron() {
      return cron;
    }

    public void setCron(String cron) {
      this.cron = cron;
    }

    public String getZone() {
      return zone;
    }

    public void setZone(String zone) {
      this.zone = zone;
    }

    public Duration getEvery() {
      return every;
    }

    public void setEvery(Duration every) {
      this.every = every;
    }

    public String getPayload() {
      return payload;
    }

    public void setPayload(String payload) {
      this.payload = payload;
    }

    public int getCatchUp() {
      return catchUp;
    }

    public void setCatchUp(int catchUp) {
      this.catchUp = catchUp;
    }
  }

  /** The worker that runs the application's {@code @PgBrokerListener} methods. */
  public static class Worker {
    /** Whether to run listeners in this instance (off: it only sends). */
    private boolean enabled = true;

    /** Handlers running at once per queue, unless the queue or the annotation says otherwise. */
    private int concurrency = dev.pgbroker.Worker.DEFAULT_CONCURRENCY;

    /** How often an idle worker polls when no notification comes. */
    private Duration pollInterval = dev.pgbroker.Worker.DEFAULT_POLL_INTERVAL;

    /** How long shutdown waits for running handlers. */
    private Duration drainTimeout = dev.pgbroker.Worker.DEFAULT_DRAIN_TIMEOUT;

    /** How often upkeep runs, on whichever instance holds the leader lease. */
    private Duration maintenanceInterval = dev.pgbroker.Worker.DEFAULT_MAINTENANCE_INTERVAL;

    /** Whether to wake on LISTEN/NOTIFY (off: poll only). */
    private boolean listenNotify = true;

    public boolean isEnabled() {
      return enabled;
    }

    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    public int getConcurrency() {
      return concurrency;
    }

    public void setConcurrency(int concurrency) {
      this.concurrency = concurrency;
    }

    public Duration getPollInterval() {
      return pollInterval;
    }

    public void setPollInterval(Duration pollInterval) {
      this.pollInterval = pollInterval;
    }

    public Duration getDrainTimeout() {
      return drainTimeout;
    }

    public void setDrainTimeout(Duration drainTimeout) {
      this.drainTimeout = drainTimeout;
    }

    public Duration getMaintenanceInterval() {
      return maintenanceInterval;
    }

    public void setMaintenanceInterval(Duration maintenanceInterval) {
      this.maintenanceInterval = maintenanceInterval;
    }

    public boolean isListenNotify() {
      return listenNotify;
    }

    public void setListenNotify(boolean listenNotify) {
      this.listenNotify = listenNotify;
    }
  }

  /** The Actuator health indicator. */
  public static class Health {
    /** Dead letters a queue may hold before health reports DOWN (negative: never). */
    private long deadLetterThreshold = 0;

    public long getDeadLetterThreshold() {
      return deadLetterThreshold;
    }

    public void setDeadLetterThreshold(long deadLetterThreshold) {
      this.deadLetterThreshold = deadLetterThreshold;
    }
  }

  /** The settings given for one queue as QueueOptions; a bad value names its property. */
  static QueueOptions options(String queue, Queue q) {
    String at = "pgbroker.queues." + queue + ".";
    QueueOptions o = QueueOptions.defaults();
    boolean exponential = q.backoffBase != null || q.backoffMax != null;
    if (!q.backoffSchedule.isEmpty() && exponential) {
      throw new IllegalArgumentException(
          at + "backoff-schedule and " + at + "backoff-base/max exclude each other; give one");
    }
    if (exponential && (q.backoffBase == null || q.backoffMax == null)) {
      throw new IllegalArgumentException(
          at + "backoff-base and " + at + "backoff-max go together; give both");
    }
    o = given(o, at + "visibility-timeout", q.visibilityTimeout, QueueOptions::visibilityTimeout);
    o = given(o, at + "max-attempts", q.maxAttempts, QueueOptions::maxAttempts);
    if (!q.backoffSchedule.isEmpty()) {
      o =
          given(
              o,
              at + "backoff-schedule",
              q.backoffSchedule,
              (opts, l) -> opts.backoffSchedule(l.toArray(Duration[]::new)));
    }
    if (exponential) {
      o =
          given(
              o,
              at + "backoff-base",
              q.backoffBase,
              (opts, base) -> opts.exponentialBackoff(base, q.backoffMax));
    }
    o = given(o, at + "dead-letter", q.deadLetter, QueueOptions::deadLetter);
    o = given(o, at + "retention", q.retention, QueueOptions::retention);
    o = given(o, at + "dedup-window", q.dedupWindow, QueueOptions::dedupWindow);
    o = given(o, at + "max-payload-bytes", q.maxPayloadBytes, QueueOptions::maxPayloadBytes);
    o = given(o, at + "notify-sql-sends", q.notifySqlSends, QueueOptions::notifySqlSends);
    return o;
  }

  private static <T> QueueOptions given(
      QueueOptions options,
      String property,
      T value,
      BiFunction<QueueOptions, T, QueueOptions> set) {
    if (value == null) {
      return options;
    }
    try {
      return set.apply(options, value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(property + " = " + value + ": " + e.getMessage(), e);
    }
  }
}
