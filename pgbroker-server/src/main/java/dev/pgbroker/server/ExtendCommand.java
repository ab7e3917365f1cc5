package dev.pgbroker.server;

import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code pgbroker extend}: keeps a received message's lease for longer. */
@Command(
    name = "extend",
    mixinStandardHelpOptions = true,
    description = {
      "Keep the lease of a received message for --for from now, so a slow job is not delivered"
          + " again while it still runs. The lease token stays the same.",
      "Exit code 4 when the lease is stale: it already ran out (the message may have been"
          + " delivered again) or the message was settled. A lease that ran out is not revived.",
      "Durations: " + DurationConverter.FORMATS + "."
    })
final class ExtendCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin BrokerOptions db;

  @Mixin LeaseArguments delivery;

  @Option(
      names = "--for",
      required = true,
      paramLabel = "<duration>",
      converter = DurationConverter.class,
      description = "How long the lease holds from now on, at least 1ms.")
  Duration extension;

  @Override
  public Integer call() {
    delivery.lease(); // bad input is refused before connecting
    if (extension.toMillis() < 1) {
      throw new ParameterException(
          spec.commandLine(), "--for must be at least 1ms, was " + extension);
    }
    try (BrokerSession s = db.open()) {
      delivery.settle(s, "extend", "extend the lease of", extension.toMillis());
    }
    spec.commandLine()
        .getOut()
        .println(
            "message "
                + delivery.id
                + " of queue "
                + delivery.queue
                + " stays leased for "
                + Output.duration(extension)
                + " from now");
    return ExitStatus.OK;
  }
}
