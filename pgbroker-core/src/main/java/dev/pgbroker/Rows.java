package dev.pgbroker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Reads result rows and JSON columns into the API's value types. */
final class Rows {
  private static final TypeReference<Map<String, Object>> OBJECT = new TypeReference<>() {};
  private final ObjectMapper mapper;

  Rows(ObjectMapper mapper) {
    this.mapper = mapper;
  }

  /** A row of the read() function. */
  Delivery delivery(String queue, ResultSet rs) throws SQLException {
    return new Delivery(
        queue,
        rs.getLong("id"),
        rs.getObject("lease", UUID.class),
        rs.getInt("attempt"),
        rs.getString("payload"),
        headers(rs.getString("headers")),
        instant(rs, "enqueued_at"),
        rs.getInt("priority"),
        rs.getString("ordering_key"),
        mapper);
  }

  /** A row of the dead_letter table. */
  DeadLetter deadLetter(ResultSet rs) throws SQLException {
    List<DeadLetter.AttemptError> errors = new ArrayList<>();
    for (JsonNode e : tree(rs.getString("errors"))) {
      errors.add(
          new DeadLetter.AttemptError(
              e.path("attempt").asInt(),
              OffsetDateTime.parse(e.path("at").asText()).toInstant(),
              e.path("error").isNull() ? null : e.path("error").asText()));
    }
    return new DeadLetter(
        rs.getString("queue"),
        rs.getLong("id"),
        rs.getString("payload"),
        headers(rs.getString("headers")),
        rs.getInt("attempts"),
        instant(rs, "enqueued_at"),
        instant(rs, "dead_at"),
        List.copyOf(errors));
  }

  Map<String, Object> map(String json) {
    try {
      return mapper.readValue(json, OBJECT);
    } catch (JsonProcessingException e) {
      throw new BrokerException("unreadable JSON from the database: " + json, e);
    }
  }

  private Map<String, String> headers(String json) {
    if (json == null || json.equals("{}")) {
      return Map.of();
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> f : tree(json).properties()) {
      out.put(
          f.getKey(), f.getValue().isTextual() ? f.getValue().asText() : f.getValue().toString());
    }
    return Collections.unmodifiableMap(out);
  }

  private JsonNode tree(String json) {
    try {
      return mapper.readTree(json);
    } catch (JsonProcessingException e) {
      throw new BrokerException("unreadable JSON from the database: " + json, e);
    }
  }

  private static Instant instant(ResultSet rs, String column) throws SQLException {
    OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
    return t == null ? null : t.toInstant();
  }
}
