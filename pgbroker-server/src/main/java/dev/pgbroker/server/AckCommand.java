package dev.pgbroker.server;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code pgbroker ack}: finishes a received message. */
@Command(
    name = "ack",
    mixinStandardHelpOptions = true,
    description = {
      "Acknowledge a received message: it is finished (deleted, or archived when the queue keeps"
          + " a retention).",
      "Exit code 4 when the lease is stale: the message was delivered again or already settled."
    })
final class AckCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin BrokerOptions db;

  @Mixin LeaseArguments delivery;

  @Override
  public Integer call() {
    delivery.lease(); // a malformed lease is bad input before connecting
    try (BrokerSession s = db.open()) {
      delivery.settle(s, "ack", "ack");
    }
    spec.commandLine()
        .getOut()
        .println("acked message " + delivery.id + " of queue " + delivery.queue);
    return ExitStatus.OK;
  }
}
