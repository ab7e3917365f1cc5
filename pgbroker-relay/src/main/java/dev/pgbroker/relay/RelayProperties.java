package dev.pgbroker.relay;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads a {@link RelayConfig} from {@code relay.*} properties with environment overrides. */
final class RelayProperties {
  static final String PREFIX = "relay.";

  private static final List<String> FIXED_KEYS =
      List.of(
          "relay.sink",
          "relay.queues",
          "relay.window",
          "relay.confirm-timeout",
          "relay.max-backoff",
          "relay.drain-timeout",
          "relay.rabbitmq.uri",
          "relay.kafka.bootstrap-servers");
  private static final String EXCHANGE = "relay.rabbitmq.exchange.";
  private static final String ROUTING_KEY = "relay.rabbitmq.routing-key.";
  private static final String TOPIC = "relay.kafka.topic.";
  private static final String PRODUCER = "relay.kafka.producer.";
  private static final Pattern DURATION = Pattern.compile("^(\\d+)\\s*(ms|s|m|h)$");

  private RelayProperties() {}

  /** The environment variable that overrides {@code key}. */
  static String environmentName(String key) {
    return "PGBROKER_" + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  static RelayConfig read(Properties properties, Map<String, String> env) {
    Map<String, String> p = new TreeMap<>();
    for (String key : properties.stringPropertyNames()) {
      if (key.startsWith(PREFIX)) {
        p.put(key, properties.getProperty(key).strip());
      }
    }
    for (String key : FIXED_KEYS) {
      String value = env.get(environmentName(key));
      if (value != null) {
        p.put(key, value.strip());
      }
    }
    for (String key : List.copyOf(p.keySet())) {
      String value = env.get(environmentName(key));
      if (value != null) {
        p.put(key, value.strip());
      }
    }

    RelayConfig.Builder b = builder(p);
    String queues = require(p, "relay.queues", "a comma-separated list of pgbroker queues");
    Arrays.stream(queues.split(","))
        .map(String::strip)
        .forEach(q -> set(b::queue, "relay.queues", q));
    optional(p, "relay.window", v -> b.window(integer("relay.window", v)));
    optional(
        p, "relay.confirm-timeout", v -> b.confirmTimeout(duration("relay.confirm-timeout", v)));
    optional(p, "relay.max-backoff", v -> b.maxBackoff(duration("relay.max-backoff", v)));
    optional(p, "relay.drain-timeout", v -> b.drainTimeout(duration("relay.drain-timeout", v)));
    for (Map.Entry<String, String> e : p.entrySet()) {
      String key = e.getKey();
      if (FIXED_KEYS.contains(key)) {
        continue;
      }
      if (key.startsWith(EXCHANGE)) {
        String queue = key.substring(EXCHANGE.length());
        String routingKey = p.getOrDefault(ROUTING_KEY + queue, queue);
        set(q -> b.route(q, e.getValue(), routingKey), key, queue);
      } else if (key.startsWith(ROUTING_KEY)) {
        String queue = key.substring(ROUTING_KEY.length());
        if (!p.containsKey(EXCHANGE + queue)) {
          set(q -> b.route(q, "", e.getValue()), key, queue);
        }
      } else if (key.startsWith(TOPIC)) {
        set(t -> b.topic(key.substring(TOPIC.length()), t), key, e.getValue());
      } else if (key.startsWith(PRODUCER)) {
        set(v -> b.producerSetting(key.substring(PRODUCER.length()), v), key, e.getValue());
      } else {
        throw new IllegalArgumentException(
            "unknown relay setting "
                + key
                + "; known: "
                + String.join(", ", FIXED_KEYS)
                + ", "
                + EXCHANGE
                + "<queue>, "
                + ROUTING_KEY
                + "<queue>, "
                + TOPIC
                + "<queue>, "
                + PRODUCER
                + "<setting>");
      }
    }
    return b.build();
  }

  private static RelayConfig.Builder builder(Map<String, String> p) {
    String sink = require(p, "relay.sink", "rabbitmq or kafka");
    switch (sink.toLowerCase(Locale.ROOT)) {
      case "rabbitmq":
        return set(
            RelayConfig::rabbitMq,
            "relay.rabbitmq.uri",
            require(p, "relay.rabbitmq.uri", "e.g. amqp://guest:guest@127.0.0.1:5672/%2f"));
      case "kafka":
        return set(
            RelayConfig::kafka,
            "relay.kafka.bootstrap-servers",
            require(p, "relay.kafka.bootstrap-servers", "e.g. 127.0.0.1:9092"));
      default:
        throw new IllegalArgumentException(
            "relay.sink must be rabbitmq or kafka, was '" + sink + "'");
    }
  }

  /** Applies one setting, naming its key in the error if the value is refused. */
  private static <T> T set(Function<String, T> setter, String key, String value) {
    try {
      return setter.apply(value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
    }
  }

  private static void optional(
      Map<String, String> p, String key, java.util.function.Consumer<String> setter) {
    String value = p.get(key);
    if (value != null) {
      set(
          v -> {
            setter.accept(v);
            return null;
          },
          key,
          value);
    }
  }

  private static String require(Map<String, String> p, String key, String allowed) {
    String value = p.get(key);
    if (value == null || value.isEmpty()) {
      throw new IllegalArgumentException(
          "missing relay setting "
              + key
              + " ("
              + allowed
              + "); set it in the file or as "
              + environmentName(key));
    }
    return value;
  }

  private static int integer(String key, String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("must be a whole number, was '" + value + "'", e);
    }
  }

  /** Accepts 500ms, 30s, 2m, 1h, or ISO-8601 (PT30S). */
  static Duration duration(String key, String value) {
    Matcher m = DURATION.matcher(value.toLowerCase(Locale.ROOT));
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      switch (m.group(2)) {
        case "ms":
          return Duration.ofMillis(n);
        case "s":
          return Duration.ofSeconds(n);
        case "m":
          return Duration.ofMinutes(n);
        default:
          return Duration.ofHours(n);
      }
    }
    try {
      return Duration.parse(value);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(
          "must be a duration such as 500ms, 30s, 2m, 1h or PT30S, was '" + value + "'", e);
    }
  }
}
