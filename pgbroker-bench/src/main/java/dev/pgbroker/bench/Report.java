package dev.pgbroker.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns {@link Results} into the printed table (Markdown, so the same text goes into
 * docs/performance.md), the JSON file, and the rewritten results section of the docs.
 */
final class Report {
  static final String BEGIN = "<!-- bench:results:begin (written by bench/run --write-docs) -->";
  static final String END = "<!-- bench:results:end -->";

  /** The markers of the table measured on a server with autovacuum on. */
  static final String BEGIN_AUTOVACUUM =
      "<!-- bench:results-autovacuum-on:begin (written by bench/run --write-docs) -->";

  static final String END_AUTOVACUUM = "<!-- bench:results-autovacuum-on:end -->";

  private Report() {}

  /** A ratio in whole percent, or to a tenth where whole ones would round it onto its target. */
  private static String percent(Results.Ratio r) {
    String whole = Results.pct(r.value());
    return (">= " + whole).equals(r.target()) ? String.format("%.1f%%", r.value() * 100) : whole;
  }

  static String table(Results results) {
    List<String[]> rows = new ArrayList<>();
    for (Results.Figure f : results.figures()) {
      rows.add(new String[] {f.label(), f.shown()});
    }
    for (Results.Ratio r : results.ratios()) {
      String value =
          r.key().startsWith("latency")
              ? Results.ms(r.value()) + " ms"
              : r.key().startsWith("heap") || r.key().endsWith("slowdown") || r.value() >= 1.5
                  ? String.format("%.2fx", r.value())
                  : percent(r);
      String verdict =
          r.target() == null
              ? "(no target)"
              : "target " + r.target() + (r.met() ? ": met" : ": **MISSED**");
      rows.add(new String[] {"ratio: " + r.label(), value + " " + verdict});
    }
    int w0 = "Measurement".length();
    int w1 = "Result".length();
    for (String[] row : rows) {
      w0 = Math.max(w0, row[0].length());
      w1 = Math.max(w1, row[1].length());
    }
    StringBuilder sb = new StringBuilder();
    line(sb, w0, w1, "Measurement", "Result");
    sb.append("|-").append("-".repeat(w0)).append("-|-").append("-".repeat(w1)).append("-|\n");
    for (String[] row : rows) {
      line(sb, w0, w1, row[0], row[1]);
    }
    return sb.toString();
  }

  private static void line(StringBuilder sb, int w0, int w1, String a, String b) {
    sb.append("| ").append(pad(a, w0)).append(" | ").append(pad(b, w1)).append(" |\n");
  }

  private static String pad(String s, int w) {
    return s + " ".repeat(w - s.length());
  }

  static void writeJson(
      Path out, Map<String, Object> machine, Map<String, Object> sizes, Results results)
      throws IOException {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("machine", machine);
    doc.put("sizes", sizes);
    Map<String, Object> figures = new LinkedHashMap<>();
    for (Results.Figure f : results.figures()) {
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("label", f.label());
      entry.put("shown", f.shown());
      entry.putAll(f.data());
      figures.put(f.key(), entry);
    }
    doc.put("figures", figures);
    doc.put("ratios", results.ratios());
    doc.put("errors", results.errors());
    if (out.getParent() != null) {
      Files.createDirectories(out.getParent());
    }
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.toFile(), doc);
  }

  /**
   * Replaces the text between the results markers of {@code doc} (those of a server with autovacuum
   * on or off, as this one runs) with the machine, the command and the table, so the page always
   * shows the figures of one real run of each.
   */
  static void writeDocs(
      Path doc, boolean autovacuum, Map<String, Object> machine, String command, String table)
      throws IOException {
    String open = autovacuum ? BEGIN_AUTOVACUUM : BEGIN;
    String close = autovacuum ? END_AUTOVACUUM : END;
    String text = Files.readString(doc, StandardCharsets.UTF_8);
    int begin = text.indexOf(open);
    int end = text.indexOf(close);
    if (begin < 0 || end < begin) {
      throw new IOException(doc + " has no results markers: " + open + " ... " + close);
    }
    StringBuilder sb = new StringBuilder(open).append("\n\n");
    sb.append("Run of ")
        .append(machine.get("finishedAt"))
        .append(", with `")
        .append(command)
        .append("`:\n\n");
    for (Map.Entry<String, Object> e : machine.entrySet()) {
      if (!e.getKey().equals("finishedAt")) {
        sb.append("- ").append(e.getKey()).append(": ").append(e.getValue()).append('\n');
      }
    }
    sb.append('\n').append(table).append('\n');
    Files.writeString(
        doc, text.substring(0, begin) + sb + text.substring(end), StandardCharsets.UTF_8);
  }
}
