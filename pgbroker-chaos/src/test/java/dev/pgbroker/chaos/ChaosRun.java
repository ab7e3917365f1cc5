package dev.pgbroker.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.Broker;
import dev.pgbroker.QueueOptions;
import dev.pgbroker.testing.JavaProcess;
import dev.pgbroker.testing.TestDatabase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One scenario's world on the suite's own PostgreSQL: a schema with the queue {@code work}, the
 * tables the producers and workers write ({@code sent}, {@code processed}, {@code clocks}), the
 * processes it started (stopped on close) and their logs under {@code target/chaos/<scenario>}.
 */
final class ChaosRun implements AutoCloseable {
  static final String QUEUE = "work";

  final ChaosPostgres pg = ChaosPostgres.get();
  final String schema;
  final Broker broker;
  final Path dir;
  final long startedAt = System.nanoTime();
  private final HikariDataSource admin;
  private final List<Process> processes = new ArrayList<>();
  private final List<Path> producerOutputs = new ArrayList<>();

  ChaosRun(String scenario, QueueOptions queue) throws IOException, SQLException {
    this.schema = "chaos_" + scenario;
    this.dir = Path.of("target", "chaos", scenario).toAbsolutePath();
    Files.createDirectories(dir);
    try (var old = Files.list(dir)) { // logs and counts of an earlier run
      for (Path f : old.toList()) {
        Files.delete(f);
      }
    }
    this.admin = TestDatabase.pool(pg.jdbcUrl() + "&ApplicationName=chaos-admin", 8);
    admin.setConnectionTimeout(5_000);
    execute("drop schema if exists " + schema + " cascade");
    this.broker = Broker.create(admin).schema(schema).build();
    broker.createQueue(QUEUE, queue);
    execute(
        "create table " + schema + ".sent (n int primary key)",
        "create table "
            + schema
            + ".processed (n int not null, id bigint not null, worker text not null,"
            + " attempt int not null)",
        "create table "
            + schema
            + ".clocks (worker text not null, jvm_ms bigint not null, db_ms bigint not null"
            + " default (extract(epoch from clock_timestamp()) * 1000)::bigint)");
  }

  /** A worker JVM named {@code name}, under {@code prefix} (a command such as faketime) if any. */
  Process worker(String name, String... prefix) throws IOException {
    JavaProcess p = jvm(ChaosWorker.class).log(dir.resolve(name + ".log").toFile());
    if (prefix.length > 0) {
      p.prefix(prefix).env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    }
    return track(p.run(url("chaos-worker"), schema, QUEUE, name));
  }

  /** A producer JVM sending numbers from {@code from}, pausing between sends, until stopped. */
  Process producer(String name, int from, int pauseMicros) throws IOException {
    Path out = dir.resolve(name);
    producerOutputs.add(out);
    return track(
        jvm(ChaosProducer.class)
            .log(dir.resolve(name + ".log").toFile())
            .run(
                url("chaos-producer"),
                schema,
                QUEUE,
                Integer.toString(from),
                Integer.toString(pauseMicros),
                out.toString(),
                stopFile().toString()));
  }

  /**
   * A JVM that starts cheaply: the suite starts dozens on two cores, and C2 compilation of a
   * short-lived worker would cost more CPU than its work.
   */
  private static JavaProcess jvm(Class<?> main) {
    return JavaProcess.of(main).jvmOptions("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");
  }

  /** Tells the producers to finish the send under way and exit. */
  void stopProducers() throws IOException {
    Files.writeString(stopFile(), "stop");
  }

  private Path stopFile() {
    return dir.resolve("stop-producers");
  }

  /** The JDBC URL with an application name, so faults can aim at one kind of client. */
  String url(String applicationName) {
    return pg.jdbcUrl() + "&ApplicationName=" + applicationName;
  }

  private Process track(Process p) {
    processes.add(p);
    return p;
  }

  /** Stops the producers, waits for them to exit cleanly, then for the queue to hold nothing. */
  void awaitDrained(List<Process> producers, Duration timeout) throws Exception {
    stopProducers();
    long deadline = System.nanoTime() + timeout.toNanos();
    for (Process p : producers) {
      long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
      assertThat(p.waitFor(left, TimeUnit.MILLISECONDS))
          .as("producer finished within %s; logs in %s", timeout, dir)
          .isTrue();
      assertThat(p.exitValue()).as("producer exit code; logs in %s", dir).isZero();
    }
    while (count("select count(*) from %s.message") > 0) {
      assertThat(System.nanoTime())
          .as(
              "queue drained within %s; left: %s",
              timeout, count("select count(*) from %s.message") + " messages")
          .isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  /** Counts what the producers committed against what was processed and dead-lettered. */
  Tally tally() throws Exception {
    Set<Integer> committed = new HashSet<>();
    int errors = 0;
    for (Path out : producerOutputs) {
      for (String line : Files.readAllLines(out.resolveSibling(out.getFileName() + ".committed"))) {
        committed.add(Integer.parseInt(line.trim()));
      }
      errors += Files.readAllLines(out.resolveSibling(out.getFileName() + ".errors")).size();
    }
    return Tally.of(this, committed, errors);
  }

  long count(String sqlTemplate) throws SQLException {
    return afterRestart(() -> countOnce(sqlTemplate));
  }

  @FunctionalInterface
  private interface Query<T> {
    T run() throws SQLException;
  }

  /**
   * The suite's own queries retry once a connection the pool still held died with a restart it
   * caused itself; any other error is a failure.
   */
  private static <T> T afterRestart(Query<T> query) throws SQLException {
    for (int attempt = 1; ; attempt++) {
      try {
        return query.run();
      } catch (SQLException e) {
        String state = String.valueOf(e.getSQLState());
        if (attempt == 5 || !(state.startsWith("08") || state.startsWith("57P"))) {
          throw e;
        }
      }
    }
  }

  private long countOnce(String sqlTemplate) throws SQLException {
    try (Connection c = admin.getConnection();
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sqlTemplate.replace("%s", schema))) {
      rs.next();
      return rs.getLong(1);
    }
  }

  List<Integer> numbers(String sqlTemplate) throws SQLException {
    List<Integer> out = new ArrayList<>();
    try (Connection c = admin.getConnection();
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sqlTemplate.replace("%s", schema))) {
      while (rs.next()) {
        out.add(rs.getInt(1));
      }
    }
    return out;
  }

  void execute(String... statements) throws SQLException {
    try (Connection c = admin.getConnection();
        Statement st = c.createStatement()) {
      for (String sql : statements) {
        st.execute(sql);
      }
    }
  }

  HikariDataSource admin() {
    return admin;
  }

  double seconds() {
    return (System.nanoTime() - startedAt) / 1e9;
  }

  /**
   * SIGKILL to {@code p} and to every process it started, then waits until all have exited: no
   * drain, no acks, leases left to run out.
   */
  void kill(Process p) throws Exception {
    List<ProcessHandle> tree = tree(p);
    tree.forEach(ProcessHandle::destroyForcibly);
    for (ProcessHandle h : tree) {
      h.onExit().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * {@code p} and its descendants, taken while {@code p} still runs: a wrapper such as faketime
   * runs the JVM as its child and dies of a signal alone, leaving the JVM running under init, where
   * no handle of ours reaches it any more.
   */
  private static List<ProcessHandle> tree(Process p) {
    List<ProcessHandle> tree = new ArrayList<>();
    p.descendants().forEach(tree::add);
    tree.add(p.toHandle());
    return tree;
  }

  /**
   * SIGTERM to every process still running and to the JVMs that wrappers started (a worker drains),
   * SIGKILL to any that hangs.
   */
  @Override
  public void close() throws Exception {
    List<ProcessHandle> all = new ArrayList<>();
    for (Process p : processes) {
      all.addAll(tree(p));
    }
    all.forEach(ProcessHandle::destroy);
    for (ProcessHandle h : all) {
      try {
        h.onExit().get(30, TimeUnit.SECONDS);
      } catch (TimeoutException hung) {
        h.destroyForcibly();
        h.onExit().get(30, TimeUnit.SECONDS);
      }
    }
    broker.close();
    admin.close();
  }
}
