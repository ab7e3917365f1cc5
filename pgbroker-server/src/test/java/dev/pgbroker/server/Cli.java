package dev.pgbroker.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgbroker.testing.TestDatabase;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Runs operator commands in-process against one test's schema on the test database. */
record Cli(String schema) {
  private static final ObjectMapper JSON = new ObjectMapper();

  CommandRun run(String... args) {
    return CommandRun.of(withDatabase(args));
  }

  /** The arguments followed by --db and --schema for this test. */
  String[] withDatabase(String... args) {
    String[] all = Arrays.copyOf(args, args.length + 4);
    all[args.length] = "--db";
    all[args.length + 1] = TestDatabase.jdbcUrl();
    all[args.length + 2] = "--schema";
    all[args.length + 3] = schema;
    return all;
  }

  /** Output of a --json command: one JSON value per non-blank line. */
  static List<JsonNode> jsonLines(String out) {
    List<JsonNode> all = new ArrayList<>();
    for (String line : out.split("\n")) {
      if (!line.isBlank()) {
        all.add(json(line));
      }
    }
    return all;
  }

  static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException("not JSON: " + text, e);
    }
  }
}
