package dev.pgbroker.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgbroker.Broker;
import dev.pgbroker.QueueOptions;
import dev.pgbroker.QueueStats;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pgbroker queue list|create|stats|delete}. */
@Command(
    name = "queue",
    mixinStandardHelpOptions = true,
    description = "List, create, inspect and delete queues.",
    subcommandsRepeatable = false)
final class QueueCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new ParameterException(
        spec.commandLine(), "name a subcommand: list, create, stats or delete");
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "List every queue with its ready, delayed, in-flight and dead counts.")
  int list(
      @Mixin BrokerOptions db,
      @Option(
              names = "--json",
              description = "One JSON object per queue, keys as SQL stats() columns.")
          boolean json) {
    PrintWriter out = db.cli().getOut();
    try (BrokerSession s = db.open()) {
      List<QueueStats> all = new ArrayList<>();
      for (String q : s.broker().queues()) {
        all.add(s.broker().stats(q));
      }
      if (json) {
        all.forEach(st -> Output.json(out, statsJson(st)));
      } else if (all.isEmpty()) {
        out.println("no queues in schema " + s.schema());
      } else {
        out.printf(
            "%-32s %9s %9s %9s %9s  %s%n",
            "QUEUE", "READY", "DELAYED", "IN FLIGHT", "DEAD", "OLDEST READY");
        for (QueueStats st : all) {
          out.printf(
              "%-32s %9d %9d %9d %9d  %s%n",
              st.queue(),
              st.ready(),
              st.delayed(),
              st.inFlight(),
              st.dead(),
              Output.duration(st.oldestReadyAge()));
        }
      }
    }
    return ExitStatus.OK;
  }

  @Command(
      name = "create",
      mixinStandardHelpOptions = true,
      description = {
        "Create a queue, or change the settings given of an existing one (others are kept).",
        "Durations: " + DurationConverter.FORMATS + "."
      })
  int create(
      @Mixin BrokerOptions db,
      @Parameters(paramLabel = "<queue>", description = "1 to 63 characters of a-z 0-9 _ . -")
          String queue,
      @Option(
              names = "--visibility-timeout",
              paramLabel = "<duration>",
              converter = DurationConverter.class,
              description = "How long a received message stays leased (default 30s).")
          Duration visibilityTimeout,
      @Option(
              names = "--max-attempts",
              paramLabel = "N",
              description = "Deliveries before the dead-letter store (default 5).")
          Integer maxAttempts,
      @Option(
              names = "--backoff",
              paramLabel = "<duration>",
              split = ",",
              converter = DurationConverter.class,
              description = "Explicit retry schedule, e.g. 1s,10s,1m (the last repeats).")
          List<Duration> backoff,
      @Option(
              names = "--backoff-base",
              paramLabel = "<duration>",
              converter = DurationConverter.class,
              description = "Exponential backoff base (default 1s); with --backoff-max.")
          Duration backoffBase,
      @Option(
              names = "--backoff-max",
              paramLabel = "<duration>",
              converter = DurationConverter.class,
              description = "Exponential backoff cap (default 10m); with --backoff-base.")
          Duration backoffMax,
      @Option(
              names = "--dead-letter",
              paramLabel = "true|false",
              arity = "1",
              description = "Keep exhausted messages as dead letters (default true) or drop them.")
          Boolean deadLetter,
      @Option(
              names = "--retention",
              paramLabel = "<duration>",
              converter = DurationConverter.class,
              description =
                  "Keep acknowledged messages in the archive this long (default 0: delete).")
          Duration retention,
      @Option(
              names = "--dedup-window",
              paramLabel = "<duration>",
              converter = DurationConverter.class,
              description = "How long a finished message's dedup key still counts (default 0).")
          Duration dedupWindow,
      @Option(
              names = "--max-payload-bytes",
              paramLabel = "N",
              description = "Largest payload (default 1048576).")
          Integer maxPayloadBytes,
      @Option(
              names = "--notify-sql-sends",
              paramLabel = "true|false",
              arity = "1",
              description = "SQL sends wake workers with NOTIFY (default true).")
          Boolean notifySqlSends,
      @Option(names = "--json", description = "Print the queue's settings as JSON.") boolean json) {
    if ((backoffBase == null) != (backoffMax == null)) {
      throw new ParameterException(
          db.cli(), "--backoff-base and --backoff-max go together; give both");
    }
    if (backoff != null && backoffBase != null) {
      throw new ParameterException(
          db.cli(), "--backoff and --backoff-base/--backoff-max exclude each other; give one");
    }
    QueueOptions o = QueueOptions.defaults();
    o =
        set(
            db.cli(),
            o,
            "--visibility-timeout",
            visibilityTimeout,
            v -> v.visibilityTimeout(visibilityTimeout));
    o = set(db.cli(), o, "--max-attempts", maxAttempts, v -> v.maxAttempts(maxAttempts));
    o =
        set(
            db.cli(),
            o,
            "--backoff",
            backoff,
            v -> v.backoffSchedule(backoff.toArray(Duration[]::new)));
    o =
        set(
            db.cli(),
            o,
            "--backoff-base",
            backoffBase,
            v -> v.exponentialBackoff(backoffBase, backoffMax));
    o = set(db.cli(), o, "--dead-letter", deadLetter, v -> v.deadLetter(deadLetter));
    o = set(db.cli(), o, "--retention", retention, v -> v.retention(retention));
    o = set(db.cli(), o, "--dedup-window", dedupWindow, v -> v.dedupWindow(dedupWindow));
    o =
        set(
            db.cli(),
            o,
            "--max-payload-bytes",
            maxPayloadBytes,
            v -> v.maxPayloadBytes(maxPayloadBytes));
    o =
        set(
            db.cli(),
            o,
            "--notify-sql-sends",
            notifySqlSends,
            v -> v.notifySqlSends(notifySqlSends));
    try (BrokerSession s = db.open()) {
      boolean existed = s.broker().queues().contains(queue);
      s.broker().createQueue(queue, o);
      QueueOptions now = s.broker().queueOptions(queue);
      PrintWriter out = db.cli().getOut();
      if (json) {
        ObjectNode node = settingsJson(now);
        node.put("queue", queue);
        node.put("created", !existed);
        Output.json(out, node);
      } else {
        out.println((existed ? "updated queue " : "created queue ") + queue + ": " + settings(now));
      }
    }
    return ExitStatus.OK;
  }

  @Command(
      name = "stats",
      mixinStandardHelpOptions = true,
      description = "Show one queue's counts by state, lifetime counters and settings.")
  int stats(
      @Mixin BrokerOptions db,
      @Parameters(paramLabel = "<queue>") String queue,
      @Option(names = "--json", description = "One JSON object, keys as SQL stats() columns.")
          boolean json) {
    try (BrokerSession s = db.open()) {
      QueueStats st = s.broker().stats(queue);
      QueueOptions settings = s.broker().queueOptions(queue);
      PrintWriter out = db.cli().getOut();
      if (json) {
        ObjectNode node = statsJson(st);
        node.set("settings", settingsJson(settings));
        Output.json(out, node);
        return ExitStatus.OK;
      }
      out.println("queue " + queue);
      out.printf("  ready:          %d%n", st.ready());
      out.printf("  delayed:        %d%n", st.delayed());
      out.printf("  in flight:      %d%n", st.inFlight());
      out.printf("  dead:           %d%n", st.dead());
      out.printf("  oldest ready:   %s%n", Output.duration(st.oldestReadyAge()));
      out.printf("  sent:           %d%n", st.sent());
      out.printf("  acked:          %d%n", st.acked());
      out.printf("  failed:         %d%n", st.failed());
      out.printf("  dead-lettered:  %d%n", st.deadLettered());
      out.println("  settings:       " + settings(settings));
    }
    return ExitStatus.OK;
  }

  @Command(
      name = "delete",
      mixinStandardHelpOptions = true,
      description = "Delete a queue with its messages, dead letters and archive. Needs --yes.")
  int delete(
      @Mixin BrokerOptions db,
      @Parameters(paramLabel = "<queue>") String queue,
      @Option(names = "--yes", description = "Confirm: the queue's messages are lost.")
          boolean yes) {
    try (BrokerSession s = db.open()) {
      Broker broker = s.broker();
      QueueStats st = broker.stats(queue); // an unknown queue fails here, exit 3
      if (!yes) {
        throw new ParameterException(
            db.cli(),
            "deleting queue "
                + queue
                + " loses its "
                + (st.ready() + st.delayed() + st.inFlight())
                + " live messages and "
                + st.dead()
                + " dead letters; add --yes to confirm");
      }
      broker.deleteQueue(queue);
      db.cli().getOut().println("deleted queue " + queue);
    }
    return ExitStatus.OK;
  }

  // Applies one option if given, naming the option when the broker refuses its value.
  private static QueueOptions set(
      CommandLine cli,
      QueueOptions o,
      String option,
      Object value,
      UnaryOperator<QueueOptions> setter) {
    if (value == null) {
      return o;
    }
    try {
      return setter.apply(o);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(
          cli, option + ": " + e.getMessage(), e, null, String.valueOf(value));
    }
  }

  static ObjectNode statsJson(QueueStats st) {
    ObjectNode n = Output.object();
    n.put("queue", st.queue());
    n.put("ready", st.ready());
    n.put("delayed", st.delayed());
    n.put("in_flight", st.inFlight());
    n.put("dead", st.dead());
    n.put("oldest_ready_age_ms", st.oldestReadyAge().toMillis());
    n.put("sent", st.sent());
    n.put("acked", st.acked());
    n.put("failed", st.failed());
    n.put("dead_lettered", st.deadLettered());
    return n;
  }

  private static ObjectNode settingsJson(QueueOptions o) {
    ObjectNode n = Output.object();
    n.put("visibility_timeout_ms", o.visibilityTimeout().toMillis());
    n.put("max_attempts", o.maxAttempts());
    ArrayNode backoff = n.putArray("backoff_ms");
    o.backoffSchedule().forEach(d -> backoff.add(d.toMillis()));
    n.put("backoff_base_ms", o.backoffBase().toMillis());
    n.put("backoff_max_ms", o.backoffMax().toMillis());
    n.put("dead_letter", o.deadLetter());
    n.put("retention_ms", o.retention().toMillis());
    n.put("dedup_window_ms", o.dedupWindow().toMillis());
    n.put("max_payload_bytes", o.maxPayloadBytes());
    n.put("notify_sql_sends", o.notifySqlSends());
    return n;
  }

  private static String settings(QueueOptions o) {
    String backoff =
        o.backoffSchedule().isEmpty()
            ? "exponential "
                + Output.duration(o.backoffBase())
                + ".."
                + Output.duration(o.backoffMax())
            : String.join(",", o.backoffSchedule().stream().map(Output::duration).toList());
    return "visibility timeout "
        + Output.duration(o.visibilityTimeout())
        + ", max attempts "
        + o.maxAttempts()
        + ", backoff "
        + backoff
        + (o.deadLetter() ? ", dead letters kept" : ", dead letters dropped")
        + ", retention "
        + Output.duration(o.retention())
        + ", dedup window "
        + Output.duration(o.dedupWindow())
        + ", max payload "
        + o.maxPayloadBytes()
        + " bytes";
  }
}
