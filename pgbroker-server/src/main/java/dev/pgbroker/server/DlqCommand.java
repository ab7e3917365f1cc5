package dev.pgbroker.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgbroker.DeadLetter;
import dev.pgbroker.DeadLetterStore;
import java.io.PrintWriter;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pgbroker dlq list|show|replay|purge}: a queue's dead letters. */
@Command(
    name = "dlq",
    mixinStandardHelpOptions = true,
    description = "List, inspect, replay and purge a queue's dead letters.")
final class DlqCommand implements Runnable {
  @Spec CommandSpec spec;

  /** Which dead letters a replay or purge takes: exactly one of these. */
  static final class Selection {
    @Option(
        names = "--id",
        paramLabel = "<id>",
        split = ",",
        description =
            "These ids (repeatable, or comma-separated); all must be dead letters of the queue, or nothing changes.")
    long[] ids;

    @Option(
        names = "--error",
        paramLabel = "<text>",
        description = "Those with an error containing this text (case-sensitive), in any attempt.")
    String error;

    @Option(names = "--all", description = "Every dead letter of the queue.")
    boolean all;
  }

  @Override
  public void run() {
    throw new ParameterException(
        spec.commandLine(), "name a subcommand: list, show, replay or purge");
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "List dead letters, oldest first, with their last error.")
  int list(
      @Mixin BrokerOptions db,
      @Parameters(paramLabel = "<queue>") String queue,
      @Option(
              names = "--limit",
              paramLabel = "N",
              defaultValue = "50",
              description =
                  "At most this many, 1 to "
                      + DeadLetterStore.MAX_LIST
                      + " (default ${DEFAULT-VALUE}).")
          int limit,
      @Option(names = "--json", description = "One JSON object per dead letter, with every error.")
          boolean json) {
    if (limit < 1 || limit > DeadLetterStore.MAX_LIST) {
      throw new ParameterException(
          db.cli(), "--limit must be 1 to " + DeadLetterStore.MAX_LIST + ", was " + limit);
    }
    PrintWriter out = db.cli().getOut();
    try (BrokerSession s = db.open()) {
      s.broker().stats(queue); // an unknown queue is an error (exit 3), not an empty list
      List<DeadLetter> dead = s.broker().deadLetters(queue).list(limit);
      if (json) {
        dead.forEach(d -> Output.json(out, json(d)));
      } else if (dead.isEmpty()) {
        out.println("no dead letters in queue " + queue);
      } else {
        out.printf("%-12s %-8s %-24s %s%n", "ID", "ATTEMPTS", "DEAD AT", "LAST ERROR");
        for (DeadLetter d : dead) {
          out.printf(
              "%-12d %-8d %-24s %s%n",
              d.id(), d.attempts(), d.deadAt(), Output.shorten(d.lastError(), 80));
        }
      }
    }
    return ExitStatus.OK;
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "Show one dead letter: payload, headers and the error of every attempt.")
  int show(
      @Mixin BrokerOptions db,
      @Parameters(index = "0", paramLabel = "<queue>") String queue,
      @Parameters(index = "1", paramLabel = "<id>") long id,
      @Option(names = "--json", description = "One JSON object.") boolean json) {
    PrintWriter out = db.cli().getOut();
    try (BrokerSession s = db.open()) {
      s.broker().stats(queue);
      DeadLetter d =
          s.broker()
              .deadLetters(queue)
              .find(id)
              .orElseThrow(
                  () ->
                      new CommandFailure(
                          ExitStatus.NOT_FOUND,
                          "no dead letter " + id + " in queue " + queue,
                          null));
      if (json) {
        Output.json(out, json(d));
        return ExitStatus.OK;
      }
      out.println("dead letter " + d.id() + " of queue " + d.queue());
      out.println("  enqueued at:     " + d.enqueuedAt());
      out.println("  dead at:         " + d.deadAt());
      out.println(
          "  attempts:        "
              + d.attempts()
              + (d.priorAttempts() > 0
                  ? " (" + d.priorAttempts() + " before its last replay)"
                  : ""));
      out.println("  headers:         " + Output.tree(d.headers()));
      out.println("  payload:         " + d.payloadJson());
      out.println("  errors:");
      for (DeadLetter.AttemptError e : d.errors()) {
        out.println("    attempt " + e.attempt() + " at " + e.at() + ": " + e.error());
        if (e.trace() != null) {
          e.trace().lines().forEach(line -> out.println("      " + line));
        }
      }
    }
    return ExitStatus.OK;
  }

  @Command(
      name = "replay",
      mixinStandardHelpOptions = true,
      description = {
        "Put dead letters back in the queue: same id, error history kept, a fresh budget of attempts.",
        "Exit code 3 when an --id is not a dead letter of the queue; then nothing is replayed."
      })
  int replay(
      @Mixin BrokerOptions db,
      @Parameters(paramLabel = "<queue>") String queue,
      @ArgGroup(multiplicity = "1") Selection which,
      @Option(names = "--json", description = "Print {\"queue\": ..., \"replayed\": n}.")
          boolean json) {
    check(db.cli(), which);
    try (BrokerSession s = db.open()) {
      s.broker().stats(queue); // a bad or unknown queue name fails here, before ids are sought
      int n = apply(s, queue, which, "replay_dead_letters");
      report(db.cli(), queue, "replayed", n, json);
    }
    return ExitStatus.OK;
  }

  @Command(
      name = "purge",
      mixinStandardHelpOptions = true,
      description = {
        "Delete dead letters for good. Needs --yes.",
        "Exit code 3 when an --id is not a dead letter of the queue; then nothing is deleted."
      })
  int purge(
      @Mixin BrokerOptions db,
      @Parameters(paramLabel = "<queue>") String queue,
      @ArgGroup(multiplicity = "1") Selection which,
      @Option(names = "--yes", description = "Confirm: purged messages are gone.") boolean yes,
      @Option(names = "--json", description = "Print {\"queue\": ..., \"purged\": n}.")
          boolean json) {
    check(db.cli(), which);
    if (!yes) {
      throw new ParameterException(
          db.cli(), "purge deletes dead letters for good; add --yes to confirm");
    }
    try (BrokerSession s = db.open()) {
      s.broker().stats(queue);
      int n = apply(s, queue, which, "purge_dead_letters");
      report(db.cli(), queue, "purged", n, json);
    }
    return ExitStatus.OK;
  }

  private static void check(CommandLine cli, Selection which) {
    if (which.error != null && which.error.isEmpty()) {
      throw new ParameterException(
          cli, "--error must not be empty; use --all for every dead letter");
    }
  }

  /**
   * Replays or purges in one transaction. The selection is resolved to ids under a row lock first,
   * so purge can match error text the way replay does, and a missing id rolls everything back.
   */
  private static int apply(BrokerSession s, String queue, Selection which, String function) {
    String schema = s.schema();
    try (Connection c = s.dataSource().getConnection()) {
      c.setAutoCommit(false);
      try {
        long[] ids = select(c, schema, queue, which);
        int n;
        try (PreparedStatement st =
            c.prepareStatement("select " + schema + "." + function + "(?, ?)")) {
          st.setString(1, queue);
          st.setArray(2, c.createArrayOf("bigint", Arrays.stream(ids).boxed().toArray()));
          try (ResultSet rs = st.executeQuery()) {
            rs.next();
            n = rs.getInt(1);
          }
        }
        c.commit();
        return n;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    } catch (SQLException e) {
      throw SqlErrors.failure(function.startsWith("replay") ? "replay" : "purge", e);
    }
  }

  // Matches the text of each attempt's error, not the errors' JSON as replay_dead_letters'
  // error_contains does: there a quote is \" and "attempt" or a date matches every dead letter.
  private static long[] select(Connection c, String schema, String queue, Selection which)
      throws SQLException {
    try (PreparedStatement st =
        c.prepareStatement(
            "select array(select d.id from "
                + schema
                + ".dead_letter d where d.queue = ?" // 1: the queue
                // 2, 3: the ids given, or null
                + " and (?::bigint[] is null or d.id = any (?::bigint[]))"
                // 4, 5: text an error contains, or null
                + " and (?::text is null or exists (select 1 from jsonb_array_elements(d.errors) e"
                + " where strpos(e ->> 'error', ?::text) > 0))"
                + " order by d.id for update)")) {
      Array given =
          which.ids == null
              ? null
              : c.createArrayOf("bigint", Arrays.stream(which.ids).boxed().toArray());
      st.setString(1, queue);
      st.setArray(2, given);
      st.setArray(3, given);
      st.setString(4, which.error);
      st.setString(5, which.error);
      try (ResultSet rs = st.executeQuery()) {
        rs.next();
        long[] found =
            Arrays.stream((Long[]) rs.getArray(1).getArray()).mapToLong(Long::longValue).toArray();
        if (which.ids != null) {
          List<Long> missing = new ArrayList<>();
          for (long id : which.ids) {
            if (Arrays.stream(found).noneMatch(f -> f == id)) {
              missing.add(id);
            }
          }
          if (!missing.isEmpty()) {
            throw new CommandFailure(
                ExitStatus.NOT_FOUND,
                "no dead letter " + missing + " in queue " + queue + "; nothing changed",
                null);
          }
        }
        return found;
      }
    }
  }

  private static void report(CommandLine cli, String queue, String verb, int n, boolean json) {
    PrintWriter out = cli.getOut();
    if (json) {
      ObjectNode node = Output.object();
      node.put("queue", queue);
      node.put(verb, n);
      Output.json(out, node);
    } else {
      out.println(verb + " " + n + " dead letter" + (n == 1 ? "" : "s") + " of queue " + queue);
    }
  }

  static ObjectNode json(DeadLetter d) {
    ObjectNode n = Output.object();
    n.put("queue", d.queue());
    n.put("id", d.id());
    n.set("payload", Output.tree(d.payloadJson()));
    n.set("headers", Output.tree(d.headers()));
    n.put("attempts", d.attempts());
    n.put("prior_attempts", d.priorAttempts());
    n.put("enqueued_at", d.enqueuedAt().toString());
    n.put("dead_at", d.deadAt().toString());
    n.put("last_error", d.lastError());
    ArrayNode errors = n.putArray("errors");
    for (DeadLetter.AttemptError e : d.errors()) {
      ObjectNode entry = errors.addObject();
      entry.put("attempt", e.attempt());
      entry.put("at", e.at().toString());
      entry.put("error", e.error());
      if (e.trace() != null) {
        entry.put("trace", e.trace());
      }
    }
    return n;
  }
}
