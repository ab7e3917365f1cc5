package dev.pgbroker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;

/** The statements about topics and subscriptions (publishing is in {@link MessageSql}). */
final class TopicSql {
  private final DataSource dataSource;
  private final String schema;
  private final ObjectMapper mapper;

  TopicSql(DataSource dataSource, String schema, ObjectMapper mapper) {
    this.dataSource = dataSource;
    this.schema = schema;
    this.mapper = mapper;
  }

  void create(String topic) {
    call("create topic " + topic, "create_topic(?)", topic);
  }

  boolean delete(String topic) {
    return call("delete topic " + topic, "delete_topic(?)", topic);
  }

  /** {@code optionsJson}: the filter under "filter", and the subscription queue's settings. */
  void subscribe(String topic, String subscription, String optionsJson) {
    call(
        "subscribe " + subscription + " to topic " + topic,
        "subscribe(?, ?, ?::jsonb)",
        topic,
        subscription,
        optionsJson);
  }

  boolean unsubscribe(String topic, String subscription) {
    return call(
        "unsubscribe " + subscription + " from topic " + topic,
        "unsubscribe(?, ?)",
        topic,
        subscription);
  }

  List<String> names() {
    return Sql.run(
        dataSource,
        "list topics",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("select name from " + schema + ".topic order by name")) {
            return Sql.list(ps, rs -> rs.getString(1));
          }
        });
  }

  /** The subscriptions of one topic, or of all when {@code topic} is null, by topic and queue. */
  List<Subscription> subscriptions(String topic) {
    return Sql.run(
        dataSource,
        "list subscriptions",
        c -> {
          if (topic != null) {
            try (PreparedStatement check =
                c.prepareStatement("select " + schema + "._find_topic(?)")) {
              check.setString(1, topic); // topic name
              check.execute();
            }
          }
          try (PreparedStatement ps =
              c.prepareStatement(
                  "select topic, queue, filter::text, created_at from "
                      + schema
                      + ".subscription where ?::text is null or topic = ?"
                      + " order by topic, queue")) {
            ps.setString(1, topic); // topic name, or null for all
            ps.setString(2, topic); // the same
            return Sql.list(ps, this::subscription);
          }
        });
  }

  private Subscription subscription(ResultSet rs) throws SQLException {
    Map<String, List<String>> headers = new LinkedHashMap<>();
    try {
      Iterator<Map.Entry<String, JsonNode>> it = mapper.readTree(rs.getString(3)).fields();
      while (it.hasNext()) {
        Map.Entry<String, JsonNode> e = it.next();
        List<String> values = new ArrayList<>();
        e.getValue().forEach(v -> values.add(v.asText()));
        headers.put(e.getKey(), List.copyOf(values));
      }
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("unreadable filter in the subscription table", e);
    }
    return new Subscription(
        rs.getString(1),
        rs.getString(2),
        Filter.of(headers),
        rs.getObject(4, OffsetDateTime.class).toInstant());
  }

  /** Runs {@code select <schema>.<call>} with string arguments; a boolean result, else false. */
  private boolean call(String action, String call, String... args) {
    return Sql.run(
        dataSource,
        action,
        c -> {
          try (PreparedStatement ps = c.prepareStatement("select " + schema + "." + call)) {
            for (int i = 0; i < args.length; i++) {
              ps.setString(i + 1, args[i]); // names, then options as JSON text
            }
            return Sql.single(ps, rs -> rs.getObject(1) instanceof Boolean b && b);
          }
        });
  }
}
