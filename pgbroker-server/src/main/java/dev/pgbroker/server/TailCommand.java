package dev.pgbroker.server;

import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pgbroker tail}: follows a queue's traffic live. */
@Command(
    name = "tail",
    mixinStandardHelpOptions = true,
    description = {
      "Follow a queue live: one line per new message and per new dead letter, and a line of"
          + " counts (sent, acked, failed, dead-lettered, and the queue's state) whenever they"
          + " move. Woken by the senders' NOTIFY; polls every --interval as well.",
      "Acks and retries show in the counts only: a settled message leaves the queue's table in"
          + " the statement that settles it. Runs until Ctrl-C, or for --for.",
      "Durations: " + DurationConverter.FORMATS + "."
    })
final class TailCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin BrokerOptions db;

  @Parameters(paramLabel = "<queue>")
  String queue;

  @Option(
      names = "--interval",
      paramLabel = "<duration>",
      converter = DurationConverter.class,
      defaultValue = "1s",
      description = "Poll at least this often (default ${DEFAULT-VALUE}; 50ms to 1m).")
  Duration interval;

  @Option(
      names = "--for",
      paramLabel = "<duration>",
      converter = DurationConverter.class,
      description = "Stop after this long (default: run until stopped).")
  Duration duration;

  @Option(
      names = "--json",
      description = "One JSON object per event (JSON Lines): event sent, dead_lettered or counts.")
  boolean json;

  @Override
  public Integer call() throws SQLException {
    if (interval.compareTo(Duration.ofMillis(50)) < 0
        || interval.compareTo(Duration.ofMinutes(1)) > 0) {
      throw new ParameterException(
          spec.commandLine(), "--interval must be 50ms to 1m, was " + interval);
    }
    if (duration != null && (duration.isNegative() || duration.isZero())) {
      throw new ParameterException(spec.commandLine(), "--for must be > 0, was " + duration);
    }
    try (BrokerSession s = db.open()) {
      new QueueTail(s, queue, json, spec.commandLine().getOut()).run(interval, duration);
    }
    return ExitStatus.OK;
  }
}
