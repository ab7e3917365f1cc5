package dev.pgbroker.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgbroker.Broker;
import dev.pgbroker.Delivery;
import java.io.PrintWriter;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pgbroker receive}: leases messages and prints them with their lease tokens. */
@Command(
    name = "receive",
    mixinStandardHelpOptions = true,
    description = {
      "Lease up to --max ready messages and print them with the lease that 'pgbroker ack' and"
          + " 'pgbroker nack' need. Unsettled, a message is delivered again when its lease runs out.",
      "Prints nothing (exit 0) when no message is ready within --wait.",
      "Durations: " + DurationConverter.FORMATS + "."
    })
final class ReceiveCommand implements Callable<Integer> {
  static final Duration MAX_WAIT = Duration.ofMinutes(15);

  // A send that notified while the LISTEN connection was being set up is caught by this poll.
  private static final long POLL_MS = 1000;

  @Spec CommandSpec spec;

  @Mixin BrokerOptions db;

  @Parameters(paramLabel = "<queue>")
  String queue;

  @Option(
      names = {"-n", "--max"},
      paramLabel = "N",
      defaultValue = "1",
      description =
          "Most messages to lease, 1 to " + Broker.MAX_READ + " (default ${DEFAULT-VALUE}).")
  int max;

  @Option(
      names = "--visibility-timeout",
      paramLabel = "<duration>",
      converter = DurationConverter.class,
      description = "Lease length (default: the queue's).")
  Duration visibilityTimeout;

  @Option(
      names = "--wait",
      paramLabel = "<duration>",
      converter = DurationConverter.class,
      defaultValue = "0",
      description =
          "Wait this long for a message when none is ready, woken by NOTIFY (at most 15m; default 0).")
  Duration wait;

  @Option(
      names = "--ack",
      description =
          "Acknowledge what was received at once (at-most-once: a crash after this loses it).")
  boolean ack;

  @Option(
      names = "--json",
      description =
          "One JSON object per message: id, lease, attempt, payload, headers, enqueued_at, priority, ordering_key.")
  boolean json;

  @Override
  public Integer call() throws SQLException {
    if (max < 1 || max > Broker.MAX_READ) {
      throw new ParameterException(
          spec.commandLine(), "--max must be 1 to " + Broker.MAX_READ + ", was " + max);
    }
    if (wait.isNegative() || wait.compareTo(MAX_WAIT) > 0) {
      throw new ParameterException(spec.commandLine(), "--wait must be 0 to 15m, was " + wait);
    }
    if (visibilityTimeout != null
        && (visibilityTimeout.isZero() || visibilityTimeout.isNegative())) {
      throw new ParameterException(
          spec.commandLine(), "--visibility-timeout must be > 0, was " + visibilityTimeout);
    }
    try (BrokerSession s = db.open()) {
      List<Delivery> got = receive(s);
      if (ack && !got.isEmpty()) {
        s.broker().ackAll(got);
      }
      PrintWriter out = spec.commandLine().getOut();
      for (Delivery d : got) {
        if (json) {
          Output.json(out, json(d));
        } else {
          out.printf("%d %s attempt=%d %s%n", d.id(), d.lease(), d.attempt(), d.payloadJson());
        }
      }
    }
    return ExitStatus.OK;
  }

  private List<Delivery> receive(BrokerSession s) throws SQLException {
    Broker broker = s.broker();
    List<Delivery> got = broker.read(queue, max, visibilityTimeout);
    if (!got.isEmpty() || wait.isZero()) {
      return got;
    }
    long deadline = System.nanoTime() + wait.toNanos();
    try (Wakeups wakeups = new Wakeups(s.dataSource(), s.schema())) {
      while (got.isEmpty()) {
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) {
          break;
        }
        wakeups.await(queue, Math.min(left, POLL_MS));
        got = broker.read(queue, max, visibilityTimeout);
      }
    }
    return got;
  }

  static ObjectNode json(Delivery d) {
    ObjectNode n = Output.object();
    n.put("queue", d.queue());
    n.put("id", d.id());
    n.put("lease", d.lease().toString());
    n.put("attempt", d.attempt());
    n.set("payload", Output.tree(d.payloadJson()));
    n.set("headers", Output.tree(d.headers()));
    n.put("enqueued_at", d.enqueuedAt().toString());
    n.put("priority", d.priority());
    n.put("ordering_key", d.orderingKey());
    return n;
  }
}
