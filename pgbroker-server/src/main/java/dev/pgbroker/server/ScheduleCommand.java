package dev.pgbroker.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgbroker.Json;
import dev.pgbroker.Schedule;
import dev.pgbroker.ScheduledTask;
import dev.pgbroker.Schedules;
import java.io.PrintWriter;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.function.BiPredicate;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pgbroker schedule list|put|pause|resume|remove}: recurring messages. */
@Command(
    name = "schedule",
    mixinStandardHelpOptions = true,
    description = {
      "Recurring schedules: each tick sends one message to a queue, fired by the running workers"
          + " (exactly one message per tick)."
    })
final class ScheduleCommand implements Runnable {
  @Spec CommandSpec spec;

  /** A cron expression or an interval: exactly one. */
  static final class Timing {
    @Option(
        names = "--cron",
        paramLabel = "<expression>",
        description = "5 or 6 cron fields, e.g. '0 8 * * MON-FRI'.")
    String cron;

    @Option(
        names = "--every",
        paramLabel = "<duration>",
        converter = DurationConverter.class,
        description = "A fixed interval, at least 1s.")
    Duration every;
  }

  @Override
  public void run() {
    throw new ParameterException(
        spec.commandLine(), "name a subcommand: list, put, pause, resume or remove");
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "List schedules with their next and last tick.")
  int list(
      @Mixin BrokerOptions db,
      @Option(names = "--json", description = "One JSON object per schedule.") boolean json) {
    PrintWriter out = db.cli().getOut();
    try (BrokerSession s = db.open()) {
      List<ScheduledTask> all = s.broker().schedules().list();
      if (json) {
        all.forEach(t -> Output.json(out, json(t)));
      } else if (all.isEmpty()) {
        out.println("no schedules in schema " + s.schema());
      } else {
        out.printf(
            "%-24s %-24s %-28s %-7s %-22s %s%n",
            "NAME", "QUEUE", "TIMING", "STATE", "NEXT RUN", "LAST RUN");
        for (ScheduledTask t : all) {
          out.printf(
              "%-24s %-24s %-28s %-7s %-22s %s%n",
              t.name(),
              t.queue(),
              timing(t),
              t.paused() ? "paused" : "active",
              time(t.nextRun()),
              t.lastRun() == null ? "never" : time(t.lastRun()));
        }
      }
    }
    return ExitStatus.OK;
  }

  @Command(
      name = "put",
      mixinStandardHelpOptions = true,
      description = {
        "Create a schedule, or change it (a timing left unchanged keeps its next tick). The queue"
            + " must exist. Prints the next tick.",
        "Durations: " + DurationConverter.FORMATS + "."
      })
  int put(
      @Mixin BrokerOptions db,
      @Parameters(index = "0", paramLabel = "<name>") String name,
      @Parameters(index = "1", paramLabel = "<queue>") String queue,
      @ArgGroup(multiplicity = "1") Timing timing,
      @Option(
              names = "--time-zone",
              paramLabel = "<zone>",
              defaultValue = "UTC",
              description =
                  "The cron's time zone, a region such as Europe/Berlin (default ${DEFAULT-VALUE}).")
          String zone,
      @Option(
              names = "--payload",
              paramLabel = "<json>",
              defaultValue = "{}",
              description = "Each tick's payload (default ${DEFAULT-VALUE}).")
          String payload,
      @Option(
              names = "--catch-up",
              paramLabel = "N",
              defaultValue = "0",
              description =
                  "Ticks missed while no worker ran to send late, 0 to "
                      + Schedule.MAX_CATCH_UP
                      + " (default ${DEFAULT-VALUE}).")
          int catchUp,
      @Mixin MessageOptions message,
      @Option(names = "--json", description = "Print {\"schedule\": ..., \"next_run\": ...}.")
          boolean json) {
    CommandLine cli = db.cli();
    Schedule schedule;
    try {
      schedule =
          timing.cron != null
              ? Schedule.cron(timing.cron, zone(cli, zone))
              : Schedule.every(timing.every);
      schedule = schedule.payload(Json.of(payload)).catchUp(catchUp).options(message.options());
    } catch (IllegalArgumentException e) {
      throw new ParameterException(cli, e.getMessage());
    }
    Instant next;
    try (BrokerSession s = db.open()) {
      next = s.broker().schedules().put(name, queue, schedule);
    }
    if (json) {
      ObjectNode n = Output.object();
      n.put("schedule", name);
      n.put("queue", queue);
      n.put("next_run", next.toString());
      Output.json(cli.getOut(), n);
    } else {
      cli.getOut().println("schedule " + name + " sends to " + queue + "; next run " + next);
    }
    return ExitStatus.OK;
  }

  @Command(
      name = "pause",
      mixinStandardHelpOptions = true,
      description = "Stop sending a schedule's ticks until resumed.")
  int pause(@Mixin BrokerOptions db, @Parameters(paramLabel = "<name>") String name) {
    return change(db, name, "paused", Schedules::pause);
  }

  @Command(
      name = "resume",
      mixinStandardHelpOptions = true,
      description = "Go on from the next tick after now; ticks of the pause are skipped.")
  int resume(@Mixin BrokerOptions db, @Parameters(paramLabel = "<name>") String name) {
    return change(db, name, "resumed", Schedules::resume);
  }

  @Command(name = "remove", mixinStandardHelpOptions = true, description = "Remove a schedule.")
  int remove(@Mixin BrokerOptions db, @Parameters(paramLabel = "<name>") String name) {
    return change(db, name, "removed", Schedules::remove);
  }

  private static int change(
      BrokerOptions db, String name, String done, BiPredicate<Schedules, String> action) {
    try (BrokerSession s = db.open()) {
      if (!action.test(s.broker().schedules(), name)) {
        throw new CommandFailure(ExitStatus.NOT_FOUND, "no schedule named " + name, null);
      }
    }
    db.cli().getOut().println("schedule " + name + " " + done);
    return ExitStatus.OK;
  }

  private static ZoneId zone(CommandLine cli, String zone) {
    try {
      return ZoneId.of(zone);
    } catch (DateTimeException e) {
      throw new ParameterException(
          cli, "--time-zone must be a region such as Europe/Berlin, or UTC; was '" + zone + "'");
    }
  }

  private static String timing(ScheduledTask t) {
    return t.cron() != null
        ? "cron " + t.cron() + " " + t.timeZone()
        : "every " + Output.duration(t.every());
  }

  private static String time(Instant i) {
    return i.toString().replaceFirst("\\.\\d+Z$", "Z");
  }

  private static ObjectNode json(ScheduledTask t) {
    ObjectNode n = Output.object();
    n.put("name", t.name());
    n.put("queue", t.queue());
    n.put("cron", t.cron());
    n.put("time_zone", t.timeZone());
    if (t.every() == null) {
      n.putNull("every_ms");
    } else {
      n.put("every_ms", t.every().toMillis());
    }
    n.put("catch_up", t.catchUp());
    n.put("paused", t.paused());
    n.put("next_run", t.nextRun() == null ? null : t.nextRun().toString());
    n.put("last_run", t.lastRun() == null ? null : t.lastRun().toString());
    return n;
  }
}
