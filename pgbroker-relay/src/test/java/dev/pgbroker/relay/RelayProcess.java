package dev.pgbroker.relay;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.Broker;
import dev.pgbroker.testing.TestDatabase;
import java.io.FileReader;
import java.io.Reader;
import java.util.Properties;

/**
 * A relay in a JVM of its own, for the tests that kill it with SIGKILL. Args: jdbcUrl schema
 * propertiesFile. Runs until killed.
 */
public final class RelayProcess {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    try (Reader r = new FileReader(args[2])) {
      props.load(r);
    }
    HikariDataSource ds = TestDatabase.pool(args[0], 8);
    Broker broker = Broker.create(ds).schema(args[1]).migrate(false).build();
    Relay.start(broker, RelayConfig.fromProperties(props));
    System.out.println("relay started");
    Thread.currentThread().join();
  }

  static Process launch(String jdbcUrl, String schema, String propertiesFile) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    return new ProcessBuilder(
            java,
            "-Xmx256m",
            "-cp",
            System.getProperty("java.class.path"),
            RelayProcess.class.getName(),
            jdbcUrl,
            schema,
            propertiesFile)
        .redirectErrorStream(true)
        .redirectOutput(
            ProcessBuilder.Redirect.appendTo(new java.io.File("target/relay-process.log")))
        .start();
  }
}
