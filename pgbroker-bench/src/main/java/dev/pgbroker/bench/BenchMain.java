package dev.pgbroker.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The benchmark: the raw-SQL limit, pgbroker and its peers, on one PostgreSQL server, in one run;
 * prints one table and writes JSON. {@code bench/run --help} lists the options.
 */
@Command(
    name = "bench/run",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = "Measures pgbroker against the raw-SQL limit, db-scheduler and JobRunr.")
final class BenchMain implements Callable<Integer> {
  static final List<String> GROUPS =
      List.of("raw", "pgbroker", "ordering", "topics", "http", "relay", "dbscheduler", "jobrunr");

  @Option(
      names = "--db",
      paramLabel = "JDBC-URL",
      description =
          "PostgreSQL to measure on"
              + " (default: "
              + Server.DEFAULT_URL
              + ", else an embedded one; 'embedded' for an embedded one, with autovacuum on)")
  String db;

  @Option(
      names = "--messages",
      paramLabel = "N",
      description = "messages per throughput scenario (default 500000; quick 2000)")
  Integer messages;

  @Option(
      names = "--backlog",
      paramLabel = "N",
      description = "the large backlog the worker drains (default 1000000; quick 5000)")
  Integer backlog;

  @Option(
      names = "--peer-messages",
      paramLabel = "N",
      description = "messages for each peer (default: --messages)")
  Integer peerMessages;

  @Option(
      names = "--concurrency",
      paramLabel = "N",
      description = "pgbroker handlers / peer worker threads at once (default 500; quick 16)")
  Integer concurrency;

  @Option(
      names = "--only",
      split = ",",
      paramLabel = "GROUP",
      description =
          "run only these of: raw, pgbroker, ordering (pgbroker's ordering-key rows, which"
              + " pgbroker includes), topics, http, relay, dbscheduler, jobrunr")
  Set<String> only;

  @Option(
      names = "--out",
      paramLabel = "FILE",
      description = "JSON results (default ${DEFAULT-VALUE})")
  Path out = Path.of("target/bench/results.json");

  @Option(
      names = "--soak",
      paramLabel = "MINUTES",
      description =
          "instead of the benchmark, a soak of this many minutes at a steady rate through a"
              + " worker (not in CI); see docs/reliability.md")
  Integer soakMinutes;

  @Option(
      names = "--soak-rate",
      paramLabel = "N",
      description = "messages per second the soak sends (default ${DEFAULT-VALUE})")
  int soakRate = 2000;

  @Option(names = "--quick", description = "tiny sizes, for the CI smoke test")
  boolean quick;

  @Option(
      names = "--write-docs",
      arity = "0..1",
      paramLabel = "FILE",
      fallbackValue = "docs/performance.md",
      description = "rewrite the results section of this page (default docs/performance.md)")
  Path writeDocs;

  private final PrintStream stdout;
  private final String[] args;

  BenchMain(PrintStream stdout, String[] args) {
    this.stdout = stdout;
    this.args = args;
  }

  public static void main(String[] args) {
    System.exit(run(System.out, args));
  }

  /** Runs the benchmark, printing the table to {@code stdout}; returns the exit code. */
  static int run(PrintStream stdout, String... args) {
    quietLibraries();
    return new CommandLine(new BenchMain(stdout, args)).execute(args);
  }

  @Override
  public Integer call() throws Exception {
    if (only != null && !GROUPS.containsAll(only)) {
      throw new CommandLine.ParameterException(
          new CommandLine(this), "--only takes " + GROUPS + ", was " + only);
    }
    if (soakMinutes != null) {
      return new Soak(stdout, Duration.ofMinutes(soakMinutes), soakRate).run(db);
    }
    Sizes sizes =
        (quick ? Sizes.quick() : Sizes.defaults())
            .with(messages, backlog, peerMessages, concurrency);
    Progress progress = new Progress(System.err);
    Results results = new Results();
    Map<String, Object> machine;
    boolean autovacuum;
    try (Server server = Server.open(db, progress)) {
      machine = machine(server);
      autovacuum = server.autovacuum();
      group("raw", results, () -> new RawSqlQueue(server, sizes, progress).run(results));
      group("pgbroker", results, () -> new PgbrokerScenarios(server, sizes, progress).run(results));
      group(
          "ordering",
          results,
          () -> new OrderingKeyScenarios(server, sizes, progress).run(results));
      group("topics", results, () -> new TopicScenarios(server, sizes, progress).run(results));
      group("http", results, () -> new HttpBench(server, sizes, progress).run(results));
      group("relay", results, () -> new RelayScenarios(server, sizes, progress).run(results));
      group(
          "dbscheduler",
          results,
          () -> new DbSchedulerScenario(server, sizes, progress).run(results));
      group("jobrunr", results, () -> new JobRunrScenario(server, sizes, progress).run(results));
    }
    machine.put(
        "finishedAt",
        OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.SECONDS).toString());
    String table = Report.table(results);
    stdout.println();
    stdout.print(table);
    stdout.flush();
    Report.writeJson(out, machine, sizes.asMap(), results);
    System.err.println("results: " + out.toAbsolutePath());
    if (writeDocs != null) {
      Report.writeDocs(writeDocs, autovacuum, machine, command(), table);
      System.err.println("table written to " + writeDocs.toAbsolutePath());
    }
    for (String error : results.errors()) {
      System.err.println("FAILED " + error);
    }
    return results.errors().isEmpty() ? 0 : 1;
  }

  @FunctionalInterface
  private interface Group {
    void run() throws Exception;
  }

  /**
   * Runs one group of scenarios if wanted (pgbroker's ordering-key rows come with its other rows);
   * a failure in its setup fails only that group.
   */
  private void group(String name, Results results, Group group) {
    boolean wanted =
        only == null
            || only.contains(name)
            || (name.equals("ordering") && only.contains("pgbroker"));
    if (!wanted) {
      return;
    }
    try {
      group.run();
    } catch (Exception e) {
      results.failed(name, name + " (setup)", e);
    }
  }

  private String command() {
    return ("bench/run " + String.join(" ", args)).trim();
  }

  private static Map<String, Object> machine(Server server) throws Exception {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cpus", Runtime.getRuntime().availableProcessors() + " (" + cpuModel() + ")");
    m.put("memory", memory());
    m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    m.put(
        "jdk",
        System.getProperty("java.vm.name")
            + " "
            + System.getProperty("java.version")
            + ", max heap "
            + Runtime.getRuntime().maxMemory() / 1048576
            + " MB");
    m.put("postgres", server.version());
    m.put("server", server.embedded() ? "embedded, started by the run" : "local, same machine");
    m.put("loadAverageAtStart", loadAverage());
    return m;
  }

  /** 1, 5 and 15 minute load averages: other work on this machine makes figures noisy. */
  private static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }

  private static String cpuModel() {
    return procLine("/proc/cpuinfo", "model name").orElse("unknown model");
  }

  private static String memory() {
    return procLine("/proc/meminfo", "MemTotal")
        .map(kb -> String.format("%.1f GiB", Long.parseLong(kb.replaceAll("\\D", "")) / 1048576.0))
        .orElse("unknown");
  }

  private static Optional<String> procLine(String file, String key) {
    try {
      return Files.readAllLines(Path.of(file)).stream()
          .filter(l -> l.startsWith(key))
          .map(l -> l.substring(l.indexOf(':') + 1).trim())
          .findFirst();
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** The peers log every job at INFO; the run's own output is the progress line and table. */
  private static void quietLibraries() {
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
  }
}
