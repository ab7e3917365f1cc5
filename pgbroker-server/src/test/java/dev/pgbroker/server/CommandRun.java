package dev.pgbroker.server;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One in-process run of the pgbroker command line: its exit code and what it printed. */
record CommandRun(int exitCode, String out, String err) {
  private static final Pattern SUMMARY_LINE = Pattern.compile("(?m)^  ([a-z -]+):\\s+(\\d+)$");

  static CommandRun of(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new CommandRun(code, out.toString(), err.toString());
  }

  /** The demo summary's "name: number" lines, such as "duplicates" -> 0. */
  Map<String, Long> summary() {
    int start = out.lastIndexOf("\nSummary\n");
    Map<String, Long> numbers = new LinkedHashMap<>();
    if (start < 0) {
      return numbers;
    }
    Matcher m = SUMMARY_LINE.matcher(out.substring(start));
    while (m.find()) {
      numbers.put(m.group(1), Long.parseLong(m.group(2)));
    }
    return numbers;
  }

  /** Everything printed, for assertion messages. */
  String transcript() {
    return "exit " + exitCode + "\n--- stdout\n" + out + "--- stderr\n" + err;
  }
}
