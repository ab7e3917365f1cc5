package dev.pgbroker.server;

import dev.pgbroker.SendOptions;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The send options of {@code send}, {@code topic publish} and {@code schedule put}. */
final class MessageOptions {
  @Spec(Spec.Target.MIXEE)
  CommandSpec mixee;

  @Option(
      names = "--delay",
      paramLabel = "<duration>",
      converter = DurationConverter.class,
      description = "Deliverable this long after the send.")
  Duration delay;

  @Option(
      names = "--deliver-at",
      paramLabel = "<instant>",
      description = "Deliverable at this time, e.g. 2030-01-01T08:00:00Z.")
  String deliverAt;

  @Option(
      names = "--priority",
      paramLabel = "N",
      description = "Higher first, -1000000 to 1000000 (default 0).")
  Integer priority;

  @Option(
      names = "--dedup-key",
      paramLabel = "<key>",
      description = "A second send with this key returns the first id.")
  String dedupKey;

  @Option(
      names = "--ordering-key",
      paramLabel = "<key>",
      description = "One message of this key at a time, in order.")
  String orderingKey;

  @Option(
      names = {"-H", "--header"},
      paramLabel = "<name=value>",
      description = "A header; repeatable.")
  Map<String, String> headers;

  @Option(
      names = "--max-attempts",
      paramLabel = "N",
      description = "This message's own attempt limit.")
  Integer maxAttempts;

  @Option(
      names = "--backoff",
      paramLabel = "<duration>",
      split = ",",
      converter = DurationConverter.class,
      description = "This message's own retry schedule, e.g. 1s,30s.")
  List<Duration> backoff;

  @Option(
      names = "--type",
      paramLabel = "<type>",
      description = "The message type (the header 'type'), which topic filters match.")
  String type;

  SendOptions options() {
    if (delay != null && deliverAt != null) {
      throw bad("--delay and --deliver-at exclude each other; give one");
    }
    SendOptions o = SendOptions.none();
    o = set(o, "--delay", delay, v -> v.delay(delay));
    o = set(o, "--deliver-at", deliverAt, v -> v.deliverAt(instant(deliverAt)));
    o = set(o, "--priority", priority, v -> v.priority(priority));
    o = set(o, "--dedup-key", dedupKey, v -> v.dedupKey(dedupKey));
    o = set(o, "--ordering-key", orderingKey, v -> v.orderingKey(orderingKey));
    o = set(o, "--type", type, v -> v.type(type));
    o = set(o, "--max-attempts", maxAttempts, v -> v.maxAttempts(maxAttempts));
    o = set(o, "--backoff", backoff, v -> v.backoffSchedule(backoff.toArray(Duration[]::new)));
    if (headers != null) {
      for (Map.Entry<String, String> h : headers.entrySet()) {
        o = o.header(h.getKey(), h.getValue());
      }
    }
    return o;
  }

  private SendOptions set(
      SendOptions o, String option, Object value, UnaryOperator<SendOptions> setter) {
    if (value == null) {
      return o;
    }
    try {
      return setter.apply(o);
    } catch (IllegalArgumentException e) {
      throw bad(option + ": " + e.getMessage());
    }
  }

  private Instant instant(String text) {
    try {
      return Instant.parse(text);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(
          "'" + text + "' is not an ISO-8601 instant such as 2030-01-01T08:00:00Z");
    }
  }

  private ParameterException bad(String message) {
    return new ParameterException(mixee.commandLine(), message);
  }
}
