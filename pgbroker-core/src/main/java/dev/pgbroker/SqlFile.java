package dev.pgbroker;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * One of the schema's SQL files, read from {@code dev/pgbroker/<folder>/} in the jar (or the
 * classes directory during a build). {@code {{schema}}} in its text stands for the schema name.
 */
record SqlFile(String name, String template) {

  String text(String schema) {
    return template.replace("{{schema}}", schema);
  }

  /** Every {@code .sql} file of the folder, sorted by name. */
  static List<SqlFile> list(String folder) {
    URL url = SqlFile.class.getResource(folder);
    if (url == null) {
      throw new IllegalStateException("dev/pgbroker/" + folder + " is missing from the jar");
    }
    List<String> names = new ArrayList<>();
    try {
      if (url.getProtocol().equals("jar")) {
        String prefix = "dev/pgbroker/" + folder + "/";
        JarURLConnection conn = (JarURLConnection) url.openConnection();
        conn.setUseCaches(false);
        try (JarFile jar = conn.getJarFile()) {
          jar.stream()
              .map(e -> e.getName())
              .filter(n -> n.startsWith(prefix) && n.endsWith(".sql"))
              .forEach(n -> names.add(n.substring(prefix.length())));
        }
      } else {
        try (Stream<Path> files = Files.list(Path.of(url.toURI()))) {
          files
              .map(f -> f.getFileName().toString())
              .filter(n -> n.endsWith(".sql"))
              .forEach(names::add);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list dev/pgbroker/" + folder, e);
    } catch (URISyntaxException e) {
      throw new IllegalStateException("cannot list dev/pgbroker/" + folder, e);
    }
    names.sort(Comparator.naturalOrder());
    return names.stream().map(n -> new SqlFile(n, read(folder + "/" + n))).toList();
  }

  private static String read(String path) {
    try (InputStream in = SqlFile.class.getResourceAsStream(path)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read dev/pgbroker/" + path, e);
    }
  }
}
