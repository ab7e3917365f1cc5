package dev.pgbroker.relay.testing;

import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import java.io.File;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The machine's real RabbitMQ at 127.0.0.1:5672 (guest/guest). Started when installed but not
 * running, installed with apt-get when missing and the tests run as root; otherwise the tests fail
 * saying how to install it. Never skipped.
 */
public final class RabbitMqServer {
  public static final String URI = "amqp://guest:guest@127.0.0.1:5672/%2f";
  private static boolean checked;

  private RabbitMqServer() {}

  public static synchronized void ensureRunning() throws Exception {
    if (checked) {
      return;
    }
    if (!reachable()) {
      if (!new File("/usr/sbin/rabbitmq-server").exists()) {
        install();
      }
      run(Duration.ofSeconds(30), "rabbitmq-server", "-detached");
      awaitReachable(Duration.ofSeconds(90));
    }
    checked = true;
  }

  public static ConnectionFactory factory() throws Exception {
    ConnectionFactory f = new ConnectionFactory();
    f.setUri(URI);
    f.setAutomaticRecoveryEnabled(false);
    return f;
  }

  /** Stops the RabbitMQ application (the node stays up), as a broker restart does. */
  public static void stopApp() throws Exception {
    run(Duration.ofSeconds(60), "rabbitmqctl", "stop_app");
  }

  public static void startApp() throws Exception {
    run(Duration.ofSeconds(60), "rabbitmqctl", "start_app");
    awaitReachable(Duration.ofSeconds(60));
  }

  private static boolean reachable() {
    try (Connection c = factory().newConnection()) {
      return c.isOpen();
    } catch (Exception e) {
      return false;
    }
  }

  private static void awaitReachable(Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (!reachable()) {
      if (System.nanoTime() > end) {
        throw new IllegalStateException(
            "RabbitMQ did not answer at 127.0.0.1:5672 within "
                + timeout
                + "; start it with: rabbitmq-server -detached");
      }
      Thread.sleep(500);
    }
  }

  private static void install() throws Exception {
    if (!"root".equals(System.getProperty("user.name"))) {
      throw new IllegalStateException(
          "RabbitMQ is neither reachable at 127.0.0.1:5672 nor installed; install it with:"
              + " sudo apt-get install -y rabbitmq-server");
    }
    run(Duration.ofMinutes(5), "apt-get", "update");
    run(Duration.ofMinutes(10), "apt-get", "install", "-y", "rabbitmq-server");
  }

  public static void run(Duration timeout, String... command) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(List.of(command)).redirectErrorStream(true);
    pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
    pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new IllegalStateException(
          "cannot run "
              + command[0]
              + " (RabbitMQ needs: apt-get install -y rabbitmq-server): "
              + e.getMessage(),
          e);
    }
    if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(String.join(" ", command) + " took over " + timeout);
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException(
          String.join(" ", command) + " failed with exit code " + p.exitValue());
    }
  }
}
