package dev.pgbroker.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgbroker.Json;
import dev.pgbroker.SendOptions;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
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

  @Mixin PayloadInput input;

  @Mixin MessageOptions message;

  @Option(
      names = "--json",
      description = "Print {\"queue\": ..., \"ids\": [...]} instead of one id per line.")
  boolean json;

  @Override
  public Integer call() {
    List<Json> payloads = input.payloads(payload);
    SendOptions options = message.options();
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
}
