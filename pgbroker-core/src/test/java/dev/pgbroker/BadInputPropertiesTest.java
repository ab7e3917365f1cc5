package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgbroker.testing.TestDatabase;
import dev.pgbroker.testing.TestSchema;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.PropertyDefaults;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Bad input tried systematically, on the Java and the SQL face: every generated input is either
 * accepted and stored exactly as given, or refused with the documented error type and a message
 * naming what was wrong, and then nothing at all is written (row counts before and after).
 */
// Shrinking runs on past its time bound in a thread of its own, overlapping the next property's
// tries on the shared schema; the failing sample is reported as generated instead.
@PropertyDefaults(shrinking = ShrinkingMode.OFF)
class BadInputPropertiesTest {
  private static final Pattern QUEUE_NAME = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,62}");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int LIMIT = 100;
  private static TestSchema schema;
  private static Broker broker;

  @BeforeContainer
  static void schemaOfItsOwn() {
    String name = "p_" + ProcessHandle.current().pid();
    drop(name);
    broker = Broker.create(TestDatabase.dataSource()).schema(name).build();
    schema = new TestSchema(name, broker);
    broker.createQueue("jobs", QueueOptions.defaults().maxPayloadBytes(LIMIT));
  }

  @AfterContainer
  static void dropSchema() {
    broker.close();
    drop(schema.name());
  }

  /** Each try starts from the same state: queue jobs holding one live message. */
  private static void oneLiveMessage() {
    schema.execute(
        "delete from %s.message; delete from %s.dead_letter; delete from %s.archive;"
            + " delete from %s.dedup; delete from %s.counter; delete from %s.queue"
            + " where name <> 'jobs'");
    broker.send("jobs", "existing");
  }

  // ---- names

  @Property(tries = 60)
  void queueNamesOutsideTheRuleAreRefusedOnBothFaces(@ForAll("badNames") String name) {
    oneLiveMessage();
    String before = state();
    for (Runnable call :
        List.<Runnable>of(
            () -> broker.createQueue(name),
            () -> broker.send(name, 1),
            () -> broker.read(name, 1),
            () -> broker.stats(name),
            () -> broker.queueOptions(name),
            () -> broker.deleteQueue(name),
            () -> broker.deadLetters(name),
            () -> broker.archive(name),
            () -> broker.messages(name))) {
      assertThatThrownBy(call::run)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("invalid queue name");
    }
    for (String sql :
        List.of(
            "select %s.create_queue(?)",
            "select %s.send(?, '1')",
            "select * from %s.read(?, 1)",
            "select * from %s.stats(?)",
            "select %s.delete_queue(?)",
            "select %s.ack(?, 1, gen_random_uuid())",
            "select %s.purge_dead_letters(?)")) {
      if (name.indexOf('\u0000') >= 0) {
        // PostgreSQL refuses a NUL in any text parameter before the function runs.
        assertSqlRefused(sql, ps -> set(ps, 1, name), "22021", "invalid byte sequence");
      } else {
        assertSqlRefused(sql, ps -> set(ps, 1, name), "PB002", "invalid queue name");
      }
    }
    assertThat(state()).isEqualTo(before);
  }

  @Property(tries = 50)
  void validNamesOfNoQueueAreUnknownOnBothFaces(@ForAll("goodNames") String name) {
    oneLiveMessage();
    String before = state();
    assertThatThrownBy(() -> broker.send(name, 1))
        .isInstanceOf(UnknownQueueException.class)
        .hasMessageContaining("unknown queue '" + name + "'");
    assertThatThrownBy(() -> broker.read(name, 1)).isInstanceOf(UnknownQueueException.class);
    assertSqlRefused("select %s.send(?, '1')", ps -> set(ps, 1, name), "PB001", "unknown queue");
    assertThat(state()).isEqualTo(before);
  }

  // ---- payloads

  @Property(tries = 150)
  void stringPayloadsAreStoredExactlyOrRefusedWhole(@ForAll("texts") String text) {
    oneLiveMessage();
    String before = state();
    Throwable refused = catchThrowable(() -> broker.send("jobs", text));
    if (refused == null) {
      JsonNode stored = lastPayload();
      assertThat(visible(stored.asText())).as("stored").isEqualTo(visible(text));
      return;
    }
    assertThat(refused).isInstanceOf(IllegalArgumentException.class);
    assertThat(refused.getMessage())
        .containsAnyOf("limit of " + LIMIT + " bytes", "\\u0000", "unpaired UTF-16 surrogate");
    assertThat(state()).isEqualTo(before);
  }

  @Property(tries = 100)
  void rawJsonTextIsCheckedBeforeItIsSent(@ForAll("jsonish") String text) {
    oneLiveMessage();
    String before = state();
    Throwable refused = catchThrowable(() -> broker.send("jobs", Json.of(text)));
    if (refused == null) {
      assertThat(lastPayload()).isEqualTo(tree(text));
      return;
    }
    assertThat(refused).isInstanceOf(IllegalArgumentException.class);
    assertThat(refused.getMessage())
        .containsAnyOf("JSON", "\\u0000", "limit of", "numeric", "unpaired UTF-16 surrogate");
    assertThat(state()).isEqualTo(before);
    if (refused.getMessage().contains("surrogate")) {
      return; // pgjdbc itself sends '?' for it: nothing the SQL face can see
    }
    assertSqlRefused(
        "select %s.send('jobs', ?::jsonb)",
        ps -> set(ps, 1, text), null, refused.getMessage().contains("bytes") ? "limit" : "");
    assertThat(state()).isEqualTo(before);
  }

  @Property(tries = 100)
  void utf8BytesThatDoNotDecodeAreRefused(@ForAll byte[] bytes) {
    oneLiveMessage();
    String before = state();
    String strict = strictUtf8(bytes);
    Throwable refused = catchThrowable(() -> broker.send("jobs", Json.of(bytes)));
    if (refused == null) {
      assertThat(strict).as("only valid UTF-8 is accepted").isNotNull();
      assertThat(lastPayload()).isEqualTo(tree(strict));
      return;
    }
    assertThat(refused).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("JSON");
    assertThat(state()).isEqualTo(before);
  }

  @Property(tries = 15)
  void deeplyNestedPayloadsAreAcceptedUpToJacksonsDepthAndRefusedBeyond(
      @ForAll @IntRange(min = 1, max = 3000) int depth) {
    oneLiveMessage();
    broker.createQueue("deep");
    String before = state();
    String nested = "[".repeat(depth) + "]".repeat(depth);
    Throwable refused = catchThrowable(() -> broker.send("deep", Json.of(nested)));
    if (refused == null) {
      List<Delivery> got = broker.read("deep", 1);
      assertThat(got.get(0).payloadJson().replace(" ", "")).isEqualTo(nested);
      broker.ack(got.get(0));
      return;
    }
    assertThat(depth).isGreaterThan(1000);
    assertThat(refused)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nesting depth");
    assertThat(state()).isEqualTo(before);
  }

  // ---- headers, keys, delays and counts

  @Property(tries = 100)
  void headersAndKeysAreStoredVerbatimOrRefusedWhole(
      @ForAll("texts") String name, @ForAll("texts") String value, @ForAll("texts") String key) {
    oneLiveMessage();
    String before = state();
    Throwable refused =
        catchThrowable(
            () ->
                broker.send(
                    "jobs",
                    1,
                    SendOptions.none().header(name, value).orderingKey(key).dedupKey(key)));
    if (refused == null) {
      List<String> row =
          strings(
              "select headers::text, ordering_key, dedup_key from %s.message"
                  + " order by id desc limit 1");
      assertThat(tree(row.get(0))).isEqualTo(JSON.valueToTree(Map.of(name, value)));
      assertThat(row.subList(1, 3)).containsExactly(key, key);
      return;
    }
    assertThat(refused).isInstanceOf(IllegalArgumentException.class);
    assertThat(refused.getMessage())
        .containsAnyOf("orderingKey", "dedupKey", "\\u0000", "surrogate");
    assertThat(state()).isEqualTo(before);
  }

  @Property(tries = 100)
  void delaysAndCountsAtTheEdges(
      @ForAll("edgeLongs") long millis, @ForAll("edgeInts") int count, @ForAll int nanos) {
    oneLiveMessage();
    String before = state();
    Duration delay = Duration.ofMillis(millis).plusNanos(nanos % 1_000_000);
    Throwable refused = catchThrowable(() -> SendOptions.none().delay(delay));
    if (delay.isNegative() || delay.compareTo(Checks.MAX_DURATION) > 0) {
      assertThat(refused)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("delay");
    } else {
      assertThat(refused).isNull();
    }
    Throwable readRefused = catchThrowable(() -> broker.read("jobs", count, Duration.ofMillis(1)));
    if (count < 1 || count > Broker.MAX_READ) {
      assertThat(readRefused)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("max must be between 1 and 10000, was " + count);
      assertSqlRefused(
          "select * from %s.read('jobs', ?, 1)",
          ps -> ps.setInt(1, count), "PB002", "max_messages must be between 1 and 10000");
    }
    assertSqlRefused(
        "select %s.send('jobs', '1', jsonb_build_object('delay_ms', ?::numeric))",
        ps -> ps.setString(1, Long.toString(-Math.abs(millis) - 1)),
        "PB002",
        "delay_ms must be a whole number");
    if (readRefused != null) {
      assertThat(state()).isEqualTo(before);
    }
  }

  // ---- leases

  @Property(tries = 40)
  void forgedLeasesSettleNothing(@ForAll("uuids") UUID forged) throws Exception {
    oneLiveMessage();
    Delivery real = broker.read("jobs", 1).get(0);
    String before = state();
    for (String sql :
        List.of(
            "select %s.ack('jobs', ?, ?::uuid)",
            "select %s.nack('jobs', ?, ?::uuid, 'forged')",
            "select %s.extend('jobs', ?, ?::uuid, 1000)")) {
      try (Connection c = TestDatabase.dataSource().getConnection();
          PreparedStatement ps = c.prepareStatement(sql.replace("%s", schema.name()))) {
        ps.setLong(1, real.id());
        ps.setString(2, forged.toString());
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          assertThat(rs.getBoolean(1)).as(sql).isFalse();
        }
      }
    }
    assertThat(state()).isEqualTo(before);
    broker.ack(real);
    String acked = state();
    assertThatThrownBy(() -> broker.ack(real)).isInstanceOf(StaleLeaseException.class);
    assertThatThrownBy(() -> broker.nack(real, "again")).isInstanceOf(StaleLeaseException.class);
    assertThatThrownBy(() -> broker.extend(real, Duration.ofSeconds(1)))
        .isInstanceOf(StaleLeaseException.class);
    assertThat(state()).isEqualTo(acked);
  }

  @Property(tries = 50)
  void leaseTextsThatAreNoUuidAreRefused(@ForAll("texts") String lease) {
    oneLiveMessage();
    String before = state();
    try {
      UUID.fromString(lease);
      return; // a real UUID's shape: covered by forgedLeasesSettleNothing
    } catch (IllegalArgumentException notAUuid) {
      // expected
    }
    assertSqlRefused("select %s.ack('jobs', 1, ?::text)", ps -> set(ps, 1, lease), null, "");
    assertThat(state()).isEqualTo(before);
  }

  // ---- option maps

  @Property(tries = 80)
  void optionMapsWithAnUnknownKeyOrABadValueAreRefusedWhole(@ForAll("badOptions") String json) {
    oneLiveMessage();
    String before = state();
    assertSqlRefused(
        "select %s.create_queue('jobs', ?::jsonb)", ps -> set(ps, 1, json), "PB002", "");
    assertSqlRefused(
        "select %s.create_queue('other', ?::jsonb)", ps -> set(ps, 1, json), "PB002", "");
    assertSqlRefused("select %s.send('jobs', '1', ?::jsonb)", ps -> set(ps, 1, json), "PB002", "");
    assertThat(state()).isEqualTo(before);
  }

  // ---- generators

  @Provide
  Arbitrary<String> badNames() {
    return Arbitraries.oneOf(
            Arbitraries.strings().all().ofMaxLength(80),
            Arbitraries.strings().withChars("abcXYZ _.-'\";$\\/\u0000é").ofMaxLength(70),
            injections(),
            goodNames().map(n -> n + "x".repeat(64)),
            goodNames().map(n -> n.toUpperCase() + "Q"))
        .filter(n -> !QUEUE_NAME.matcher(n).matches());
  }

  @Provide
  Arbitrary<String> goodNames() {
    return Arbitraries.strings()
        .withChars("abcdefghijklmnopqrstuvwxyz0123456789_.-")
        .ofMinLength(1)
        .ofMaxLength(63)
        .filter(n -> QUEUE_NAME.matcher(n).matches() && !n.equals("jobs"));
  }

  @Provide
  Arbitrary<String> texts() {
    return Arbitraries.oneOf(
        Arbitraries.strings().all().ofMaxLength(120),
        Arbitraries.strings().withChars("a\u0000\ud800\udc00é\"\\'\n$").ofMaxLength(40),
        Arbitraries.strings().ascii().ofMinLength(500).ofMaxLength(600),
        injections());
  }

  @Provide
  Arbitrary<String> jsonish() {
    return Arbitraries.oneOf(
        texts(),
        texts().map(t -> JSON.valueToTree(Map.of("k", t)).toString()),
        texts().map(t -> "{\"k\": \"" + t + "\"}"),
        Arbitraries.of("{", "[1,]", "nul", "'x'", "\"\\u0000\"", "1e999999", "{\"a\":1}{", "  "));
  }

  @Provide
  Arbitrary<String> injections() {
    return Arbitraries.of(
            "q'; drop table x; --",
            "q\"; select pg_sleep(10); --",
            "$$; drop schema public cascade; $$",
            "jobs' or '1'='1",
            "jobs\u0000",
            "../jobs",
            "jobs%s",
            "{{schema}}",
            "); delete from message; --")
        .flatMap(i -> Arbitraries.strings().alpha().ofMaxLength(3).map(p -> p + i));
  }

  @Provide
  Arbitrary<Long> edgeLongs() {
    long max = Checks.MAX_DURATION.toMillis();
    return Arbitraries.oneOf(
        Arbitraries.of(0L, -1L, 1L, max, max + 1, Long.MIN_VALUE / 2, Long.MAX_VALUE / 2_000_000),
        Arbitraries.longs().between(-1_000_000L, max + 1_000));
  }

  @Provide
  Arbitrary<Integer> edgeInts() {
    return Arbitraries.oneOf(
        Arbitraries.of(0, -1, 1, 10_000, 10_001, Integer.MIN_VALUE, Integer.MAX_VALUE),
        Arbitraries.integers());
  }

  @Provide
  Arbitrary<UUID> uuids() {
    return Arbitraries.longs().tuple2().map(t -> new UUID(t.get1(), t.get2()));
  }

  @Provide
  Arbitrary<String> badOptions() {
    Arbitrary<String> keys =
        Arbitraries.of(
            "delay_ms",
            "max_attempts",
            "visibility_timeout_ms",
            "retention_ms",
            "dead_letter",
            "backoff_ms",
            "headers",
            "dedup_window_ms",
            "max_payload_bytes");
    Arbitrary<String> badValues =
        Arbitraries.of(
            "-1",
            "1.5",
            "\"1\"",
            "1e300",
            "[]",
            "{\"a\": 1}",
            "\"'; drop table x; --\"",
            "-9223372036854775809",
            "99999999999999999999");
    Arbitrary<String> knownKeyBadValue =
        Combinators.combine(keys, badValues)
            .as((k, v) -> "{\"" + k + "\": " + v + "}")
            .filter(j -> !j.contains("\"headers\": {") && !j.contains("\"dead_letter\": \""));
    Arbitrary<String> unknownKey =
        Combinators.combine(Arbitraries.oneOf(injections(), texts()), badValues)
            .as((k, v) -> JSON.createObjectNode().set(k, tree(v)).toString())
            .filter(j -> !j.contains("\\u0000"));
    return Arbitraries.oneOf(knownKeyBadValue, unknownKey);
  }

  // ---- helpers

  /** Row counts of every table, and the queues' settings: equal before and after a refusal. */
  private static String state() {
    try (Connection c = TestDatabase.dataSource().getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                ("select concat_ws(' | ',"
                        + " (select count(*) from %s.message), (select count(*) from %s.dead_letter),"
                        + " (select count(*) from %s.archive), (select count(*) from %s.dedup),"
                        + " (select count(*) from %s.counter),"
                        + " (select string_agg(to_jsonb(q)::text, ';' order by name) from %s.queue q),"
                        + " (select string_agg(concat_ws('/', id, attempt, lease, visible_at, errors),"
                        + " ';' order by id) from %s.message))")
                    .replace("%s", schema.name()));
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getString(1);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode lastPayload() {
    try (Connection c = TestDatabase.dataSource().getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "select payload::text from "
                    + schema.name()
                    + ".message order by id desc limit 1");
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      return JSON.readTree(rs.getString(1));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode tree(String json) {
    try {
      return JSON.readTree(json);
    } catch (Exception e) {
      return JSON.getNodeFactory().textNode(json);
    }
  }

  private static String strictUtf8(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  @FunctionalInterface
  private interface Binder {
    void bind(PreparedStatement ps) throws SQLException;
  }

  private static void set(PreparedStatement ps, int i, String s) throws SQLException {
    ps.setString(i, s);
  }

  /** The text with every character outside printable ASCII as a \\uXXXX escape. */
  private static String visible(String s) {
    StringBuilder out = new StringBuilder();
    for (char c : s.toCharArray()) {
      out.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\u%04x", (int) c));
    }
    return out.toString();
  }

  /** The first row of a query, with {@code %s} standing for the schema, as strings. */
  private static List<String> strings(String sql) {
    try (Connection c = TestDatabase.dataSource().getConnection();
        PreparedStatement ps = c.prepareStatement(sql.replace("%s", schema.name()));
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      List<String> row = new ArrayList<>();
      for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
        row.add(rs.getString(i));
      }
      return row;
    } catch (SQLException e) {
      throw new IllegalStateException(sql, e);
    }
  }

  /**
   * Runs the SQL and expects it refused: with {@code sqlState} when given (PB001 unknown queue,
   * PB002 invalid argument; other refusals come from PostgreSQL's own type checks), and a message
   * containing {@code text}.
   */
  private static void assertSqlRefused(String sql, Binder binder, String sqlState, String text) {
    Throwable t =
        catchThrowable(
            () -> {
              try (Connection c = TestDatabase.dataSource().getConnection();
                  PreparedStatement ps = c.prepareStatement(sql.replace("%s", schema.name()))) {
                binder.bind(ps);
                ps.execute();
              }
            });
    assertThat(t).as(sql).isInstanceOf(SQLException.class);
    if (sqlState != null) {
      assertThat(((SQLException) t).getSQLState())
          .as(sql + ": " + t.getMessage())
          .isEqualTo(sqlState);
    }
    assertThat(t.getMessage()).as(sql).contains(text);
  }

  private static void drop(String name) {
    try (Connection c = TestDatabase.dataSource().getConnection()) {
      c.createStatement().execute("drop schema if exists " + name + " cascade");
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  @SuppressWarnings("unused")
  private static final Consumer<Object> UNUSED = o -> {};
}
