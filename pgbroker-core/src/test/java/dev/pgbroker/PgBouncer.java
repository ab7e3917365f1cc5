package dev.pgbroker;

import dev.pgbroker.testing.TestDatabase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real PgBouncer in transaction mode on a port of its own, in front of the tests' PostgreSQL,
 * started for a test class and stopped after it. Installs Debian's {@code pgbouncer} package when
 * it is missing and the tests run as root; otherwise fails saying how to install it.
 */
final class PgBouncer implements AutoCloseable {
  private static final Path BINARY = Path.of("/usr/sbin/pgbouncer");

  /** Server connections per database and user: fewer than clients, so sessions are shared. */
  static final int SERVER_CONNECTIONS = 3;

  private final Process process;
  private final Path dir;
  private final int port;
  private final String database;
  private final String user;

  private PgBouncer(Process process, Path dir, int port, String database, String user) {
    this.process = process;
    this.dir = dir;
    this.port = port;
    this.database = database;
    this.user = user;
  }

  static PgBouncer start() throws IOException, InterruptedException {
    installIfMissing();
    URI target = URI.create(TestDatabase.jdbcUrl().substring("jdbc:".length()));
    String database = target.getPath().substring(1);
    String user = query(target, "user", "postgres");
    Path dir = Files.createTempDirectory("pgbouncer");
    // Root starts it as nobody (PgBouncer refuses to run as root), who must write here.
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
    int port = freePort();
    Files.writeString(dir.resolve("users.txt"), "\"" + user + "\" \"\"\n", StandardCharsets.UTF_8);
    Files.writeString(
        dir.resolve("pgbouncer.ini"),
        String.join(
            "\n",
            "[databases]",
            database + " = host=" + target.getHost() + " port=" + target.getPort(),
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            "listen_port = " + port,
            "unix_socket_dir =",
            "auth_type = trust",
            "auth_file = " + dir.resolve("users.txt"),
            "pool_mode = transaction",
            "default_pool_size = " + SERVER_CONNECTIONS,
            "max_client_conn = 200",
            "ignore_startup_parameters = extra_float_digits,options",
            "logfile = " + dir.resolve("pgbouncer.log"),
            ""),
        StandardCharsets.UTF_8);
    List<String> command = new ArrayList<>(List.of(BINARY.toString()));
    if (isRoot()) {
      command.addAll(List.of("-u", "nobody"));
    }
    command.add(dir.resolve("pgbouncer.ini").toString());
    Process p =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("stdout.txt").toFile())
            .start();
    PgBouncer bouncer = new PgBouncer(p, dir, port, database, user);
    bouncer.awaitListening();
    return bouncer;
  }

  /** A JDBC URL through PgBouncer; pgjdbc must not name prepared statements (see the guide). */
  String jdbcUrl() {
    return "jdbc:postgresql://127.0.0.1:"
        + port
        + "/"
        + database
        + "?user="
        + user
        + "&prepareThreshold=0";
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  private void awaitListening() throws IOException, InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (true) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return;
      } catch (IOException notYet) {
        if (!process.isAlive() || System.nanoTime() > deadline) {
          process.destroyForcibly();
          throw new IllegalStateException(
              "PgBouncer did not start on port "
                  + port
                  + ": "
                  + read(dir.resolve("stdout.txt"))
                  + read(dir.resolve("pgbouncer.log")));
        }
        Thread.sleep(50);
      }
    }
  }

  private static void installIfMissing() throws IOException, InterruptedException {
    if (Files.isExecutable(BINARY)) {
      return;
    }
    String how =
        "PgBouncer is not installed: the PgBouncer tests need Debian's pgbouncer package"
            + " (sudo apt-get install -y pgbouncer), which they install themselves only when run"
            + " as root";
    if (!isRoot()) {
      throw new IllegalStateException(how);
    }
    if (run("apt-get", "install", "-y", "pgbouncer") != 0) {
      run("apt-get", "update");
      if (run("apt-get", "install", "-y", "pgbouncer") != 0 || !Files.isExecutable(BINARY)) {
        throw new IllegalStateException(how + "; apt-get install -y pgbouncer failed");
      }
    }
  }

  private static int run(String... command) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(command).inheritIO();
    pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
    return pb.start().waitFor();
  }

  private static boolean isRoot() {
    return "root".equals(System.getProperty("user.name"));
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static String query(URI uri, String key, String fallback) {
    String q = uri.getQuery();
    if (q != null) {
      for (String pair : q.split("&")) {
        if (pair.startsWith(key + "=")) {
          return pair.substring(key.length() + 1);
        }
      }
    }
    return fallback;
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
