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
    List<DeadLetter.AttemptError> errors = errors(rs.getString("errors"));
    int attempts = rs.getInt("attempts");
    return new DeadLetter(
        rs.getString("queue"),
        rs.getLong("id"),
        rs.getString("payload"),
        headers(rs.getString("headers")),
        attempts,
        Math.max(0, errors.size() - attempts), // each attempt of a dead letter left an entry
        instant(rs, "enqueued_at"),
        instant(rs, "dead_at"),
        errors);
  }

  /** A row of the message table, with a {@code leased} column. */
  QueuedMessage queued(ResultSet rs) throws SQLException {
    Instant visibleAt = instant(rs, "visible_at");
    return new QueuedMessage(
        rs.getString("queue"),
        rs.getLong("id"),
        rs.getString("payload"),
        headers(rs.getString("headers")),
        rs.getInt("priority"),
        rs.getString("ordering_key"),
        rs.getInt("attempt"),
        rs.getInt("prior_attempts"),
        rs.getBoolean("leased"),
        Instant.MAX.equals(visibleAt) ? null : visibleAt, // 'infinity': parked behind its key
        instant(rs, "enqueued_at"),
        errors(rs.getString("errors")));
  }

  /** A row of the archive table. */
  ArchivedMessage archived(ResultSet rs) throws SQLException {
    return new ArchivedMessage(
        rs.getString("queue"),
        rs.getLong("id"),
        rs.getString("payload"),
        headers(rs.getString("headers")),
        rs.getInt("attempts"),
        rs.getInt("prior_attempts"),
        instant(rs, "enqueued_at"),
        instant(rs, "acked_at"),
        errors(rs.getString("errors")));
  }

  /** A message's error history: {@code [{"attempt", "at", "error", "trace"?}, ...]}. */
  private List<DeadLetter.AttemptError> errors(String json) {
    List<DeadLetter.AttemptError> errors = new ArrayList<>();
    for (JsonNode e : tree(json)) {
      errors.add(
          new DeadLetter.AttemptError(
              e.path("attempt").asInt(),
              OffsetDateTime.parse(e.path("at").asText()).toInstant(),
              text(e.path("error")),
              text(e.path("trace"))));
    }
    return List.copyOf(errors);
  }

  private static String text(JsonNode n) {
    return n.isMissingNode() || n.isNull() ? null : n.asText();
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

  /** PostgreSQL's 'infinity' comes back as {@link Instant#MAX}. */
  private static Instant instant(ResultSet rs, String column) throws SQLException {
    OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
    return t == null ? null : t.equals(OffsetDateTime.MAX) ? Instant.MAX : t.toInstant();
  }
}
