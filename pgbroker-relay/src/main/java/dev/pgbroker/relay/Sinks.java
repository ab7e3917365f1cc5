package dev.pgbroker.relay;

/** Builds the sink a configuration names, with a clear error when its client is missing. */
final class Sinks {
  private Sinks() {}

  static Sink create(RelayConfig config) {
    try {
      switch (config.sink) {
        case RABBITMQ:
          return new RabbitMqSink(config);
        case KAFKA:
          return new KafkaSink(config);
        default:
          throw new AssertionError(config.sink);
      }
    } catch (NoClassDefFoundError e) {
      String client =
          config.sink == RelayConfig.SinkKind.RABBITMQ
              ? "com.rabbitmq:amqp-client"
              : "org.apache.kafka:kafka-clients";
      throw new IllegalStateException(
          "relaying to " + config.sink + " needs " + client + " on the classpath", e);
    }
  }
}
