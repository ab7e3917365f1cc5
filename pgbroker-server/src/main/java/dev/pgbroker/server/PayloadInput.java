package dev.pgbroker.server;

import dev.pgbroker.Json;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The payload of {@code send} and {@code topic publish}: the command's argument, or {@code --file}
 * (- for standard input), with {@code --batch} for one payload per line. (The argument itself is
 * the command's: picocli numbers a mixin's positional parameters on their own.)
 */
final class PayloadInput {
  @Spec(Spec.Target.MIXEE)
  CommandSpec mixee;

  @Option(
      names = "--file",
      paramLabel = "<path>",
      description = "Read the payload from a file; - reads standard input.")
  String file;

  @Option(names = "--batch", description = "One payload per line of the input (JSON Lines).")
  boolean batch;

  // Every payload is parsed before anything is sent, so a bad line sends nothing.
  /** The payloads, from {@code payload} (the command's argument, may be null) or the file. */
  List<Json> payloads(String payload) {
    if ((payload == null) == (file == null)) {
      throw bad(
          "give the payload as an argument or with --file (- for standard input), not "
              + (payload == null ? "neither" : "both"));
    }
    String text = payload != null ? payload : read(file);
    if (!batch) {
      return List.of(json(text, "payload"));
    }
    List<Json> all = new ArrayList<>();
    String[] lines = text.split("\r?\n");
    for (int i = 0; i < lines.length; i++) {
      if (!lines[i].isBlank()) {
        all.add(json(lines[i], "line " + (i + 1)));
      }
    }
    if (all.isEmpty()) {
      throw bad("--batch found no payloads: the input has no non-blank lines");
    }
    return all;
  }

  private Json json(String text, String what) {
    try {
      return Json.of(text);
    } catch (IllegalArgumentException e) {
      throw bad(what + ": " + e.getMessage());
    }
  }

  private String read(String path) {
    try {
      if (path.equals("-")) {
        InputStream in = System.in;
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      return Files.readString(Path.of(path), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new CommandFailure(ExitStatus.BAD_INPUT, "cannot read --file " + path + ": " + e, e);
    }
  }

  private ParameterException bad(String message) {
    return new ParameterException(mixee.commandLine(), message);
  }
}
