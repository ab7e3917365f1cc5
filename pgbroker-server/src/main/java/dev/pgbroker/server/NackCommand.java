package dev.pgbroker.server;

import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code pgbroker nack}: fails a received message, recording the error. */
@Command(
    name = "nack",
    mixinStandardHelpOptions = true,
    description = {
      "Fail a received message: it is retried after --delay or its backoff, or moves to the"
          + " dead-letter store after its last attempt. The error joins its history.",
      "Exit code 4 when the lease is stale: the message was delivered again or already settled.",
      "Durations: " + DurationConverter.FORMATS + "."
    })
final class NackCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin BrokerOptions db;

  @Mixin LeaseArguments delivery;

  @Option(
      names = {"-e", "--error"},
      paramLabel = "<text>",
      description = "Why it failed; kept in the message's history (first 4,000 characters).")
  String error;

  @Option(
      names = "--delay",
      paramLabel = "<duration>",
      converter = DurationConverter.class,
      description = "Retry after this long instead of the backoff.")
  Duration delay;

  @Override
  public Integer call() {
    delivery.lease();
    if (delay != null && delay.isNegative()) {
      throw new ParameterException(spec.commandLine(), "--delay must be >= 0, was " + delay);
    }
    Long delayMs = delay == null ? null : delay.toMillis();
    try (BrokerSession s = db.open()) {
      delivery.settle(s, "nack", "nack", error, delayMs);
    }
    spec.commandLine()
        .getOut()
        .println("nacked message " + delivery.id + " of queue " + delivery.queue);
    return ExitStatus.OK;
  }
}
