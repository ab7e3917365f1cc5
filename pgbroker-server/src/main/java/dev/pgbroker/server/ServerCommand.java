package dev.pgbroker.server;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pgbroker server}: the HTTP API, dashboard and metrics (and the relay, if configured). */
@Command(
    name = "server",
    mixinStandardHelpOptions = true,
    description = {
      "Serve the HTTP API (/v1), the dashboard (/dashboard/), Prometheus metrics (/metrics) and"
          + " health probes (/health/live, /health/ready) until stopped with Ctrl-C or SIGTERM.",
      "",
      "Settings come from the --config properties file, each overridable by an environment"
          + " variable (http.port by PGBROKER_HTTP_PORT): db.url, db.pool-size, schema,"
          + " http.bind, http.port, http.admin-tokens, http.read-tokens (comma-separated),"
          + " http.max-body-bytes, and relay.* to run the relay in the same process (the"
          + " dashboard and /metrics then show its lag). Without"
          + " http.admin-tokens a token is generated and printed. See docs/http-api.md.",
      ""
    })
final class ServerCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "Properties file; without it, settings come from the environment only.")
  Path config;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    ServerConfig settings = ServerConfig.load(config, System.getenv());
    try (RunningServer server = RunningServer.start(settings, out)) {
      out.println("Press Ctrl-C to stop.");
      out.flush();
      RunningServer.awaitShutdown(() -> out.println("stopping..."));
    }
    return 0;
  }
}
