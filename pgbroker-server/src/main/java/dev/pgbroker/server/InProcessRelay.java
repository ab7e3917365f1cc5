package dev.pgbroker.server;

import dev.pgbroker.Broker;
import java.lang.reflect.InvocationTargetException;
import java.util.List;
import java.util.Properties;

/**
 * The relay {@code pgbroker server} runs from its {@code relay.*} settings. Reached through
 * reflection, so the server runs without pgbroker-relay and its broker clients on the class path.
 * The settings are read first, so the HTTP API knows the relayed queues (for their lag) before the
 * relay starts.
 */
final class InProcessRelay {
  private final Class<?> configClass;
  private final Object config;
  private final List<String> queues;

  private InProcessRelay(Class<?> configClass, Object config, List<String> queues) {
    this.configClass = configClass;
    this.config = config;
    this.queues = queues;
  }

  /** Reads and checks the settings; starts nothing. */
  static InProcessRelay configure(Properties relay) {
    try {
      Class<?> configClass = Class.forName("dev.pgbroker.relay.RelayConfig");
      Object config = configClass.getMethod("fromProperties", Properties.class).invoke(null, relay);
      List<?> queues = (List<?>) configClass.getMethod("queues").invoke(config);
      return new InProcessRelay(configClass, config, queues.stream().map(String::valueOf).toList());
    } catch (ClassNotFoundException e) {
      throw new CommandFailure(
          "relay.* settings are given, but pgbroker-relay is not on the class path", e);
    } catch (InvocationTargetException e) {
      throw cannotStart(e);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("pgbroker-relay does not match this server", e);
    }
  }

  /** The queues the relay consumes, in the order the settings name them. */
  List<String> queues() {
    return queues;
  }

  /** Starts relaying; closing what it returns drains the publishes under way. */
  AutoCloseable start(Broker broker) {
    try {
      Class<?> relayClass = Class.forName("dev.pgbroker.relay.Relay");
      return (AutoCloseable)
          relayClass.getMethod("start", Broker.class, configClass).invoke(null, broker, config);
    } catch (InvocationTargetException e) {
      throw cannotStart(e);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("pgbroker-relay does not match this server", e);
    }
  }

  private static CommandFailure cannotStart(InvocationTargetException e) {
    Throwable cause = e.getCause();
    return new CommandFailure("cannot start the relay: " + cause.getMessage(), cause);
  }
}
