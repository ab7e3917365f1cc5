package dev.pgbroker.server;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.Broker;
import dev.pgbroker.UnknownQueueException;
import dev.pgbroker.relay.Relay;
import dev.pgbroker.relay.RelayConfig;
import dev.pgbroker.relay.RelayStats;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * {@code pgbroker relay}: the outbox relay as a process of its own. Runs until the JVM is told to
 * stop (Ctrl-C, SIGTERM), then drains publishes under way.
 */
@Command(
    name = "relay",
    mixinStandardHelpOptions = true,
    description = {
      "Forward pgbroker queues to RabbitMQ or Kafka (the transactional outbox relay).",
      "Runs until stopped; Ctrl-C or SIGTERM finishes the publishes under way. Settings: docs/relay.md."
    })
final class RelayCommand implements Callable<Integer> {
  /** How often the running relay prints its counters. */
  private static final long REPORT_SECONDS = 30;

  @Option(
      names = "--config",
      required = true,
      paramLabel = "<file>",
      description =
          "Properties file with the relay.* settings (other keys are ignored);"
              + " PGBROKER_RELAY_* environment variables override them.")
  Path config;

  @Mixin BrokerOptions options;

  @Override
  public Integer call() throws InterruptedException {
    RelayConfig relayConfig = readConfig();
    if (options.db == null || options.db.isBlank()) {
      throw new ParameterException(
          options.cli(),
          "no database given: pass --db <jdbc-url> or set "
              + BrokerOptions.DB_VARIABLE
              + ", e.g. "
              + Database.URL_EXAMPLE);
    }
    // The worker underneath holds one LISTEN connection and borrows a few for fetches and acks.
    HikariDataSource ds = Database.open(options.db, 4 + 2 * relayConfig.queues().size());
    Broker broker = Broker.create(ds).schema(options.schema.name).migrate(false).build();
    Relay relay;
    try {
      relay = Relay.start(broker, relayConfig);
    } catch (UnknownQueueException e) {
      broker.close();
      ds.close();
      throw new CommandFailure(ExitStatus.NOT_FOUND, e.getMessage(), e);
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  relay.close();
                  broker.close();
                  ds.close();
                  stopped.countDown();
                },
                "pgbroker-relay-shutdown"));
    PrintWriter out = options.cli().getOut();
    out.printf(
        "relaying %s to %s; Ctrl-C stops%n",
        String.join(", ", relayConfig.queues()), relayConfig.sink());
    while (!stopped.await(REPORT_SECONDS, TimeUnit.SECONDS)) {
      RelayStats s = relay.stats();
      out.printf(
          "confirmed %d, retried %d, dead-lettered %d, in flight %d, lag %d ms%n",
          s.confirmed(), s.retried(), s.deadLettered(), s.inFlight(), s.lag().toMillis());
    }
    return ExitStatus.OK;
  }

  private RelayConfig readConfig() {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(config)) {
      p.load(r);
    } catch (IOException e) {
      throw new CommandFailure(
          ExitStatus.BAD_INPUT, "cannot read --config " + config + ": " + e, e);
    }
    try {
      return RelayConfig.fromProperties(p);
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new CommandFailure(ExitStatus.BAD_INPUT, config + ": " + e.getMessage(), e);
    }
  }
}
