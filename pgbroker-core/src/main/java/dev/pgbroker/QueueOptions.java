package dev.pgbroker;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Settings of one queue. Immutable: each setter checks its value and returns a copy. Settings left
 * unset keep the queue's current value (or the default, for a new queue), so {@link
 * Broker#createQueue(String, QueueOptions)} can also reconfigure a queue one setting at a time.
 */
public final class QueueOptions {
  public static final Duration DEFAULT_VISIBILITY_TIMEOUT = Duration.ofSeconds(30);
  public static final int DEFAULT_MAX_ATTEMPTS = 5;
  public static final Duration DEFAULT_BACKOFF_BASE = Duration.ofSeconds(1);
  public static final Duration DEFAULT_BACKOFF_MAX = Duration.ofMinutes(10);
  public static final int DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

  /** Keys of the SQL API's create_queue options; only the settings given. */
  private final Map<String, Object> given;

  private QueueOptions(Map<String, Object> given) {
    this.given = Collections.unmodifiableMap(given);
  }

  /** No settings given: a new queue gets every default, an existing one keeps its settings. */
  public static QueueOptions defaults() {
    return new QueueOptions(new LinkedHashMap<>());
  }

  /** How long a received message stays leased before it is delivered again. */
  public QueueOptions visibilityTimeout(Duration timeout) {
    return with("visibility_timeout_ms", positiveMillis("visibilityTimeout", timeout));
  }

  /** Deliveries before a failing message moves to the dead-letter store (default 5). */
  public QueueOptions maxAttempts(int attempts) {
    return with("max_attempts", Checks.maxAttempts(attempts));
  }

  /**
   * An explicit retry schedule: retry n waits {@code delays[n-1]}; the last delay repeats. Like
   * Deno's {@code backoffSchedule}.
   */
  public QueueOptions backoffSchedule(Duration... delays) {
    return with("backoff_ms", Checks.backoffSchedule(delays));
  }

  /**
   * Exponential backoff with jitter (the default): retry n waits between half and all of {@code
   * base * 2^(n-1)}, capped at {@code max}. Replaces an explicit schedule.
   */
  public QueueOptions exponentialBackoff(Duration base, Duration max) {
    long b = nonNegativeMillis("backoff base", base);
    long m = nonNegativeMillis("backoff max", max);
    if (m < b) {
      throw new IllegalArgumentException(
          "backoff max must be >= backoff base (" + base + "), was " + max);
    }
    QueueOptions o = with("backoff_base_ms", b).with("backoff_max_ms", m);
    return o.with("backoff_ms", null);
  }

  /** Whether exhausted messages are kept in the dead-letter store (default) or dropped. */
  public QueueOptions deadLetter(boolean keep) {
    return with("dead_letter", keep);
  }

  /**
   * Whether a send through the SQL API ({@code pgbroker.send}, {@code send_batch}) wakes idle
   * workers with a NOTIFY in its own transaction (default true). PostgreSQL serialises the commits
   * of transactions that notify, so a producer that needs every last commit per second may turn it
   * off; its messages then reach idle workers at their next poll. Java sends are not affected: they
   * notify after their commit, debounced.
   */
  public QueueOptions notifySqlSends(boolean notify) {
    return with("notify_sql_sends", notify);
  }

  /** Keep acknowledged messages in the archive this long; zero (the default) deletes them. */
  public QueueOptions retention(Duration retention) {
    return with("retention_ms", nonNegativeMillis("retention", retention));
  }

  /**
   * Keep at most this many acknowledged messages in the archive, the newest; zero (the default)
   * sets no count limit. Applies with a {@link #retention} only, which archives them at all.
   */
  public QueueOptions archiveLimit(long count) {
    return with("archive_max_count", count("archiveLimit", count));
  }

  /** Delete dead letters this long after they died; zero (the default) keeps them until purged. */
  public QueueOptions deadLetterRetention(Duration retention) {
    return with("dead_letter_retention_ms", nonNegativeMillis("deadLetterRetention", retention));
  }

  /**
   * Keep at most this many dead letters, the newest; zero (the default) sets no count limit. Upkeep
   * deletes the older ones.
   */
  public QueueOptions deadLetterLimit(long count) {
    return with("dead_letter_max_count", count("deadLetterLimit", count));
  }

  /**
   * How long a finished message's dedup key still deduplicates; zero (the default) means only live
   * messages do.
   */
  public QueueOptions dedupWindow(Duration window) {
    return with("dedup_window_ms", nonNegativeMillis("dedupWindow", window));
  }

  /** Largest payload accepted, in bytes of JSON text (default 1 MiB). */
  public QueueOptions maxPayloadBytes(int bytes) {
    if (bytes < 1) {
      throw new IllegalArgumentException("maxPayloadBytes must be >= 1, was " + bytes);
    }
    return with("max_payload_bytes", bytes);
  }

  public Duration visibilityTimeout() {
    return Duration.ofMillis(
        number("visibility_timeout_ms", DEFAULT_VISIBILITY_TIMEOUT.toMillis()));
  }

  public int maxAttempts() {
    return (int) number("max_attempts", DEFAULT_MAX_ATTEMPTS);
  }

  /** The explicit retry schedule, or an empty list when backoff is exponential. */
  public List<Duration> backoffSchedule() {
    Object ms = given.get("backoff_ms");
    if (!(ms instanceof List<?> list)) {
      return List.of();
    }
    return list.stream().map(v -> Duration.ofMillis(((Number) v).longValue())).toList();
  }

  public Duration backoffBase() {
    return Duration.ofMillis(number("backoff_base_ms", DEFAULT_BACKOFF_BASE.toMillis()));
  }

  public Duration backoffMax() {
    return Duration.ofMillis(number("backoff_max_ms", DEFAULT_BACKOFF_MAX.toMillis()));
  }

  public boolean notifySqlSends() {
    return !Boolean.FALSE.equals(given.get("notify_sql_sends"));
  }

  public boolean deadLetter() {
    return !Boolean.FALSE.equals(given.get("dead_letter"));
  }

  public Duration retention() {
    return Duration.ofMillis(number("retention_ms", 0));
  }

  /** The most acknowledged messages the archive keeps; zero: no count limit. */
  public long archiveLimit() {
    return number("archive_max_count", 0);
  }

  /** How long dead letters are kept; zero: until purged. */
  public Duration deadLetterRetention() {
    return Duration.ofMillis(number("dead_letter_retention_ms", 0));
  }

  /** The most dead letters kept; zero: no count limit. */
  public long deadLetterLimit() {
    return number("dead_letter_max_count", 0);
  }

  public Duration dedupWindow() {
    return Duration.ofMillis(number("dedup_window_ms", 0));
  }

  public int maxPayloadBytes() {
    return (int) number("max_payload_bytes", DEFAULT_MAX_PAYLOAD_BYTES);
  }

  /** The settings given, keyed as the SQL API's create_queue options. */
  Map<String, Object> given() {
    return given;
  }

  static QueueOptions fromColumns(Map<String, Object> columns) {
    return new QueueOptions(new LinkedHashMap<>(columns));
  }

  private long number(String key, long fallback) {
    Object v = given.get(key);
    return v == null ? fallback : ((Number) v).longValue();
  }

  private QueueOptions with(String key, Object value) {
    Map<String, Object> copy = new LinkedHashMap<>(given);
    copy.put(key, value);
    return new QueueOptions(copy);
  }

  /** Mirrors {@code _ms} in code/10_helpers.sql, which reads these counts too. */
  private static long count(String name, long count) {
    long max = Checks.MAX_DURATION.toMillis();
    if (count < 0 || count > max) {
      throw new IllegalArgumentException(
          name + " must be from 0 (no limit) to " + max + ", was " + count);
    }
    return count;
  }

  static long positiveMillis(String name, Duration d) {
    long ms = nonNegativeMillis(name, d);
    if (ms == 0) {
      throw new IllegalArgumentException(name + " must be at least 1 ms, was " + d);
    }
    return ms;
  }

  static long nonNegativeMillis(String name, Duration d) {
    Objects.requireNonNull(d, name);
    if (d.isNegative()) {
      throw new IllegalArgumentException(name + " must be >= 0, was " + d);
    }
    if (d.compareTo(Checks.MAX_DURATION) > 0) {
      throw new IllegalArgumentException(
          name + " must be at most " + Checks.MAX_DURATION.toMillis() + " ms, was " + d);
    }
    return d.toMillis();
  }

  @Override
  public String toString() {
    return "QueueOptions" + given;
  }
}
