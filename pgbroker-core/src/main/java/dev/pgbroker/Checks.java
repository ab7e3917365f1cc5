package dev.pgbroker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The input rules both faces enforce. Each is checked here, in Java, so a mistake fails at the line
 * that made it, and again in SQL for clients of the SQL API; the comment on each names the SQL that
 * mirrors it, and {@code BadInputTest} tries each through both.
 */
final class Checks {
  /** Mirrors {@code _check_name} in code/10_helpers.sql. */
  private static final Pattern QUEUE_NAME = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,62}");

  /** Schema names are spliced into SQL, so only plain lower-case identifiers pass. */
  private static final Pattern SCHEMA_NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  /** Mirrors {@code _check_key} in code/10_helpers.sql (dedup and ordering keys). */
  static final int MAX_KEY_CHARS = 512;

  /**
   * Mirrors {@code _nack} in code/50_settle.sql, which keeps the first 4,000 characters of an error
   * and of a stack trace.
   */
  static final int MAX_ERROR_CHARS = 4_000;

  /** Mirrors {@code _ms} in code/10_helpers.sql: 1e15 ms, about 31,700 years. */
  static final Duration MAX_DURATION = Duration.ofMillis(1_000_000_000_000_000L);

  /** Mirrors {@code _read} in code/40_read.sql. */
  static final int MAX_READ = 10_000;

  /** Most rows one list of messages, archived messages or dead letters returns. */
  static final int MAX_LIST = 10_000;

  private Checks() {}

  static String queueName(String queue) {
    return name("queue", queue);
  }

  /** Topics, subscriptions (queues) and schedules share the queue name rule. */
  static String name(String what, String name) {
    if (name == null || !QUEUE_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "invalid "
              + what
              + " name "
              + quote(name)
              + ": use 1 to 63 characters of a-z, 0-9, \"_\", \".\" or \"-\", starting with a letter"
              + " or digit");
    }
    return name;
  }

  static String schemaName(String schema) {
    if (schema == null || !SCHEMA_NAME.matcher(schema).matches()) {
      throw new IllegalArgumentException(
          "schema must match " + SCHEMA_NAME + ", was " + quote(schema));
    }
    return schema;
  }

  static String key(String what, String key) {
    if (key == null || key.isEmpty() || key.length() > MAX_KEY_CHARS) {
      throw new IllegalArgumentException(
          what
              + " must be 1 to "
              + MAX_KEY_CHARS
              + " characters, was "
              + (key == null ? "null" : key.length() + " characters"));
    }
    // PostgreSQL text cannot hold NUL.
    if (key.indexOf('\u0000') >= 0) {
      throw new IllegalArgumentException(what + " must not contain the NUL character (\\u0000)");
    }
    return encodable(what, key);
  }

  /**
   * Refuses text holding a UTF-16 surrogate without its pair: UTF-8 cannot encode one, and the
   * driver would send '?' in its place, so what is stored would differ from what was sent.
   */
  static String encodable(String what, String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < text.length()
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        throw new IllegalArgumentException(
            String.format(
                "%s holds an unpaired UTF-16 surrogate (\\u%04x) at character %d, which UTF-8"
                    + " cannot encode",
                what, (int) c, i));
      }
    }
    return text;
  }

  static int readMax(int max) {
    if (max < 1 || max > MAX_READ) {
      throw new IllegalArgumentException("max must be between 1 and " + MAX_READ + ", was " + max);
    }
    return max;
  }

  static int listLimit(int limit) {
    if (limit < 1 || limit > MAX_LIST) {
      throw new IllegalArgumentException(
          "limit must be between 1 and " + MAX_LIST + ", was " + limit);
    }
    return limit;
  }

  /** Mirrors {@code max_attempts} in create_queue and send (code/20_queues.sql, 30_send.sql). */
  static int maxAttempts(int attempts) {
    if (attempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be >= 1, was " + attempts);
    }
    return attempts;
  }

  /** Mirrors {@code _backoff_schedule} in code/10_helpers.sql; returns the delays in ms. */
  static List<Long> backoffSchedule(Duration... delays) {
    if (delays == null || delays.length == 0) {
      throw new IllegalArgumentException("backoffSchedule needs at least one delay");
    }
    List<Long> ms = new ArrayList<>();
    for (Duration d : delays) {
      ms.add(QueueOptions.nonNegativeMillis("backoffSchedule delay", d));
    }
    return List.copyOf(ms);
  }

  /**
   * An error text as the message history keeps it. A NUL character, which PostgreSQL text cannot
   * hold, is written as {@code \\u0000}: an exception message must never make its own nack fail.
   */
  static String errorText(String error) {
    if (error == null) {
      return null;
    }
    String text = error.replace("\u0000", "\\u0000");
    return text.length() <= MAX_ERROR_CHARS ? text : text.substring(0, MAX_ERROR_CHARS);
  }

  static String quote(String s) {
    return s == null ? "null" : "'" + s + "'";
  }
}
