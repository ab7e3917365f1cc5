package dev.pgbroker.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgbroker.Json;
import dev.pgbroker.SendOptions;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pgbroker send}: one message, or a batch of JSON lines in one transaction. */
@Command(
    name = "send",
    mixinStandardHelpOptions = true,
    description = {
      "Send a JSON message to a queue and print its id.",
      "The payload is the argument, or the contents of --file (- reads standard input). With"
          + " --batch every non-blank line is one payload, all sent in one statement: all or none.",
      "Durations: " + DurationConverter.FORMATS + "."
    })
final class SendCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin BrokerOptions db;

  @Parameters(index = "0", paramLabel = "<queue>")
  String queue;

  @Parameters(
      index = "1",
      arity = "0..1",
      paramLabel = "<payload>",
      description = "JSON text, e.g. '{\"to\": \"ada@example.com\"}'")
  String payload;

  @Option(
      names = "--file",
      paramLabel = "<path>",
      description = "Read the payload from a file; - reads standard input.")
  String file;

  @Option(names = "--batch", description = "One payload per line of the input (JSON Lines).")
  boolean batch;

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
      names = "--json",
      description = "Print {\"queue\": ..., \"ids\": [...]} instead of one id per line.")
  boolean json;

  @Override
  public Integer call() {
    List<Json> payloads = payloads();
    SendOptions options = options();
    try (BrokerSession s = db.open()) {
      List<Long> ids = s.broker().sendBatch(queue, payloads, options);
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        ObjectNode node = Output.object();
        node.put("queue", queue);
        ids.forEach(node.putArray("ids")::add);
        Output.json(out, node);
      } else {
        ids.forEach(out::println);
      }
    }
    return ExitStatus.OK;
  }

  // Every payload is parsed before anything is sent, so a bad line sends nothing.
  private List<Json> payloads() {
    if ((payload == null) == (file == null)) {
      throw bad(
          "give the payload as an argument or with --file (- for standard input), not "
              + (payload == null ? "neither" : "both"));
    }
    String text = payload != null ? payload : read(file);
    if (!batch) {
      return List.of(json(text, "payload"));
    }
    List<Json> all = new ArrayList<>();
    String[] lines = text.split("\r?\n");
    for (int i = 0; i < lines.length; i++) {
      if (!lines[i].isBlank()) {
        all.add(json(lines[i], "line " + (i + 1)));
      }
    }
    if (all.isEmpty()) {
      throw bad("--batch found no payloads: the input has no non-blank lines");
    }
    return all;
  }

  private SendOptions options() {
    if (delay != null && deliverAt != null) {
      throw bad("--delay and --deliver-at exclude each other; give one");
    }
    SendOptions o = SendOptions.none();
    o = set(o, "--delay", delay, v -> v.delay(delay));
    o = set(o, "--deliver-at", deliverAt, v -> v.deliverAt(instant(deliverAt)));
    o = set(o, "--priority", priority, v -> v.priority(priority));
    o = set(o, "--dedup-key", dedupKey, v -> v.dedupKey(dedupKey));
    o = set(o, "--ordering-key", orderingKey, v -> v.orderingKey(orderingKey));
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

  private Json json(String text, String what) {
    try {
      return Json.of(text);
    } catch (IllegalArgumentException e) {
      throw bad(what + ": " + e.getMessage());
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

  private String read(String path) {
    try {
      if (path.equals("-")) {
        InputStream in = System.in;
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      return Files.readString(Path.of(path), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new CommandFailure(ExitStatus.BAD_INPUT, "cannot read --file " + path + ": " + e, e);
    }
  }

  private ParameterException bad(String message) {
    return new ParameterException(spec.commandLine(), message);
  }
}
