package dev.pgbroker.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgbroker.Filter;
import dev.pgbroker.Json;
import dev.pgbroker.SendOptions;
import dev.pgbroker.Subscription;
import dev.pgbroker.Topics;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pgbroker topic list|create|delete|subscribe|unsubscribe|publish}. */
@Command(
    name = "topic",
    mixinStandardHelpOptions = true,
    description = {
      "Topics fan a message out to their subscriptions; each subscription is a queue of its own"
          + " (receive, ack, dlq and queue stats work on it by that name)."
    })
final class TopicCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new ParameterException(
        spec.commandLine(),
        "name a subcommand: list, create, delete, subscribe, unsubscribe or publish");
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "List topics with their subscriptions and filters.")
  int list(
      @Mixin BrokerOptions db,
      @Option(names = "--json", description = "One JSON object per topic.") boolean json) {
    PrintWriter out = db.cli().getOut();
    try (BrokerSession s = db.open()) {
      Topics topics = s.broker().topics();
      Map<String, List<Subscription>> byTopic =
          topics.subscriptions().stream()
              .collect(
                  Collectors.groupingBy(
                      Subscription::topic, LinkedHashMap::new, Collectors.toList()));
      List<String> names = topics.names();
      if (!json && names.isEmpty()) {
        out.println("no topics in schema " + s.schema());
      }
      for (String topic : names) {
        List<Subscription> subs = byTopic.getOrDefault(topic, List.of());
        if (json) {
          ObjectNode n = Output.object();
          n.put("topic", topic);
          var array = n.putArray("subscriptions");
          for (Subscription sub : subs) {
            ObjectNode o = array.addObject();
            o.put("queue", sub.queue());
            o.set("filter", Output.tree(sub.filter().headers()));
            o.put("created_at", sub.createdAt().toString());
          }
          Output.json(out, n);
        } else {
          out.println(topic + (subs.isEmpty() ? "  (no subscriptions)" : ""));
          for (Subscription sub : subs) {
            out.println("  -> " + sub.queue() + "  " + filter(sub.filter()));
          }
        }
      }
    }
    return ExitStatus.OK;
  }

  @Command(
      name = "create",
      mixinStandardHelpOptions = true,
      description = "Create a topic (idempotent).")
  int create(@Mixin BrokerOptions db, @Parameters(paramLabel = "<topic>") String topic) {
    try (BrokerSession s = db.open()) {
      s.broker().topics().create(topic);
    }
    db.cli().getOut().println("topic " + topic + " exists");
    return ExitStatus.OK;
  }

  @Command(
      name = "delete",
      mixinStandardHelpOptions = true,
      description = "Delete a topic and its subscriptions' queues with all they hold. Needs --yes.")
  int delete(
      @Mixin BrokerOptions db,
      @Parameters(paramLabel = "<topic>") String topic,
      @Option(names = "--yes", description = "Confirm: the subscriptions' messages are lost.")
          boolean yes) {
    try (BrokerSession s = db.open()) {
      List<Subscription> subs = s.broker().topics().subscriptions(topic); // unknown: exit 3
      if (!yes) {
        throw new ParameterException(
            db.cli(),
            "deleting topic "
                + topic
                + " deletes its "
                + subs.size()
                + " subscription queues with their messages; add --yes to confirm");
      }
      s.broker().topics().delete(topic);
    }
    db.cli().getOut().println("deleted topic " + topic);
    return ExitStatus.OK;
  }

  @Command(
      name = "subscribe",
      mixinStandardHelpOptions = true,
      description = {
        "Subscribe a queue (made if missing) to the topic's messages from now on; run again to"
            + " change its filter.",
        "A message passes when every header the filter names holds one of its values."
      })
  int subscribe(
      @Mixin BrokerOptions db,
      @Parameters(index = "0", paramLabel = "<topic>") String topic,
      @Parameters(
              index = "1",
              paramLabel = "<subscription>",
              description = "The queue that gets the copies.")
          String subscription,
      @Option(
              names = "--type",
              paramLabel = "<type>",
              split = ",",
              description = "Only these message types (repeatable, or comma-separated).")
          List<String> types,
      @Option(
              names = "--filter",
              paramLabel = "<header=v1,v2>",
              description = "Only messages whose header holds one of these values (repeatable).")
          Map<String, String> headers) {
    Filter filter = Filter.all();
    try {
      if (types != null) {
        filter = filter.header("type", types.toArray(String[]::new));
      }
      if (headers != null) {
        for (Map.Entry<String, String> h : headers.entrySet()) {
          filter = filter.header(h.getKey(), h.getValue().split(","));
        }
      }
    } catch (IllegalArgumentException e) {
      throw new ParameterException(db.cli(), "--filter: " + e.getMessage());
    }
    try (BrokerSession s = db.open()) {
      s.broker().topics().subscribe(topic, subscription, filter);
    }
    db.cli()
        .getOut()
        .println("queue " + subscription + " subscribes to " + topic + ": " + filter(filter));
    return ExitStatus.OK;
  }

  @Command(
      name = "unsubscribe",
      mixinStandardHelpOptions = true,
      description = "End a subscription: its queue is deleted with what it holds. Needs --yes.")
  int unsubscribe(
      @Mixin BrokerOptions db,
      @Parameters(index = "0", paramLabel = "<topic>") String topic,
      @Parameters(index = "1", paramLabel = "<subscription>") String subscription,
      @Option(names = "--yes", description = "Confirm: the subscription's messages are lost.")
          boolean yes) {
    if (!yes) {
      throw new ParameterException(
          db.cli(),
          "unsubscribing deletes queue "
              + subscription
              + " with its messages; add --yes to confirm");
    }
    try (BrokerSession s = db.open()) {
      if (!s.broker().topics().unsubscribe(topic, subscription)) {
        throw new CommandFailure(
            ExitStatus.NOT_FOUND,
            "queue " + subscription + " does not subscribe to topic " + topic,
            null);
      }
    }
    db.cli().getOut().println("queue " + subscription + " no longer subscribes to " + topic);
    return ExitStatus.OK;
  }

  @Command(
      name = "publish",
      mixinStandardHelpOptions = true,
      description = {
        "Publish a JSON message: each subscription whose filter takes it gets a copy. Prints the"
            + " number of copies made.",
        "The payload is the argument, or --file (- reads standard input); with --batch one"
            + " payload per line, all in one statement.",
        "Durations: " + DurationConverter.FORMATS + "."
      })
  int publish(
      @Mixin BrokerOptions db,
      @Parameters(index = "0", paramLabel = "<topic>") String topic,
      @Parameters(index = "1", arity = "0..1", paramLabel = "<payload>", description = "JSON text.")
          String payload,
      @Mixin PayloadInput input,
      @Mixin MessageOptions message,
      @Option(names = "--json", description = "Print {\"topic\": ..., \"copies\": n}.")
          boolean json) {
    List<Json> payloads = input.payloads(payload);
    SendOptions options = message.options();
    int copies;
    try (BrokerSession s = db.open()) {
      copies = s.broker().publishBatch(topic, payloads, options);
    }
    PrintWriter out = db.cli().getOut();
    if (json) {
      ObjectNode n = Output.object();
      n.put("topic", topic);
      n.put("copies", copies);
      Output.json(out, n);
    } else {
      out.println(copies);
    }
    return ExitStatus.OK;
  }

  private static String filter(Filter f) {
    if (f.headers().isEmpty()) {
      return "every message";
    }
    return f.headers().entrySet().stream()
        .map(e -> e.getKey() + " in " + String.join("|", e.getValue()))
        .collect(Collectors.joining(" and "));
  }
}
