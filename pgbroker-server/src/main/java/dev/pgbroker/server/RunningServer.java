package dev.pgbroker.server;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.Broker;
import dev.pgbroker.server.http.ApiSettings;
import dev.pgbroker.server.http.HttpApi;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;

/** What {@code pgbroker server} runs: pool, broker, HTTP API and, when configured, the relay. */
final class RunningServer implements AutoCloseable {
  private final HikariDataSource dataSource;
  private final Broker broker;
  private final HttpApi api;
  private final AutoCloseable relay;

  private RunningServer(
      HikariDataSource dataSource, Broker broker, HttpApi api, AutoCloseable relay) {
    this.dataSource = dataSource;
    this.broker = broker;
    this.api = api;
    this.relay = relay;
  }

  static RunningServer start(ServerConfig config, PrintWriter out) throws IOException {
    HikariDataSource ds = Database.open(config.dbUrl(), config.poolSize());
    Broker broker = null;
    HttpApi api = null;
    try {
      broker = Broker.create(ds).schema(config.schema()).build(); // migrates if needed
      InProcessRelay relayed =
          config.relay() == null ? null : InProcessRelay.configure(config.relay());
      api = HttpApi.start(broker, ds, config.api(), relayed == null ? List.of() : relayed.queues());
      AutoCloseable relay = relayed == null ? null : relayed.start(broker);
      out.printf("database: %s, schema %s%n", Database.describe(ds), config.schema());
      printAccess(out, api, config.generatedToken() ? config.api().adminTokens().get(0) : null);
      if (relay != null) {
        out.println("relay: started for " + String.join(", ", relayed.queues()));
      }
      out.flush();
      return new RunningServer(ds, broker, api, relay);
    } catch (RuntimeException | IOException e) {
      if (api != null) {
        api.close();
      }
      if (broker != null) {
        broker.close();
      }
      ds.close();
      throw e;
    }
  }

  int port() {
    return api.port();
  }

  static void printAccess(PrintWriter out, HttpApi api, String generatedToken) {
    out.println("HTTP API:  " + api.uri() + "v1/  (see docs/http-api.md)");
    out.println("metrics:   " + api.uri() + "metrics   health: " + api.uri() + "health/ready");
    if (generatedToken != null) {
      out.println("admin token (generated for this run; set http.admin-tokens to choose one):");
      out.println("  " + generatedToken);
      out.println("dashboard: " + api.uri() + "dashboard/#token=" + generatedToken);
    } else {
      out.println("dashboard: " + api.uri() + "dashboard/  (asks for a token)");
    }
  }

  /**
   * Serves the dashboard over an existing broker until the JVM is asked to stop (Ctrl-C); for the
   * demo, with a generated token, on port 8080 or any free one if that is taken.
   */
  static void serveUntilInterrupted(Broker broker, DataSource ds, PrintWriter out)
      throws IOException, InterruptedException {
    String token = ServerConfig.newToken();
    HttpApi api;
    try {
      api = HttpApi.start(broker, ds, settings(ApiSettings.DEFAULT_PORT, token));
    } catch (IOException busy) {
      api = HttpApi.start(broker, ds, settings(0, token));
    }
    try (HttpApi open = api) {
      printAccess(out, open, token);
      out.println("Press Ctrl-C to stop.");
      out.flush();
      awaitShutdown(() -> {});
    }
  }

  private static ApiSettings settings(int port, String token) {
    return new ApiSettings(
        ApiSettings.DEFAULT_BIND_ADDRESS,
        port,
        List.of(token),
        List.of(),
        ApiSettings.DEFAULT_MAX_BODY_BYTES);
  }

  /** Blocks until the JVM begins to shut down, then runs {@code onStop} before it exits. */
  static void awaitShutdown(Runnable onStop) throws InterruptedException {
    CountDownLatch stop = new CountDownLatch(1);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  stop.countDown();
                  try {
                    stopped.await(15, TimeUnit.SECONDS); // let the main thread close everything
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                },
                "pgbroker-shutdown"));
    try {
      stop.await();
      onStop.run();
    } finally {
      stopped.countDown();
    }
  }

  @Override
  public void close() {
    try {
      if (relay != null) {
        relay.close(); // drains what it has in flight
      }
    } catch (Exception e) {
      throw new IllegalStateException("relay: " + e.getMessage(), e);
    } finally {
      api.close();
      broker.close();
      dataSource.close();
    }
  }
}
