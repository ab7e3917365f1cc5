package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The hot statements use their index, checked on the real plans PostgreSQL picks inside the
 * schema's functions (auto_explain reports nested statements' plans to the client).
 */
@ExtendWith(BrokerExtension.class)
class QueryPlanTest {
  private Broker broker;
  private TestSchema schema;
  private DataSource ds;

  @BeforeEach
  void twoBusyQueues(Broker broker, TestSchema schema, DataSource ds) {
    this.broker = broker;
    this.schema = schema;
    this.ds = ds;
    for (String q : List.of("hot", "other")) {
      broker.createQueue(q);
      for (int i = 0; i < 20; i++) {
        broker.sendBatch(q, IntStream.range(0, 1000).boxed().toList());
        broker.sendBatch(
            q,
            IntStream.range(0, 100).boxed().toList(),
            SendOptions.none().orderingKey("key-" + i));
        broker.sendBatch(
            q,
            IntStream.range(0, 1000).boxed().toList(),
            SendOptions.none().delay(Duration.ofHours(1)).priority(i % 3));
      }
    }
    schema.execute("analyze %s.message");
  }

  @Test
  void readUsesTheFetchAndOrderingIndexes() throws Exception {
    String plans = plansOf("select * from %s.read('hot', 100, 30000)");

    assertThat(plans).contains("message_fetch").doesNotContain("Seq Scan on message");
  }

  @Test
  void ackNackAndExtendFindMessagesByPrimaryKey() throws Exception {
    List<Delivery> got = broker.read("hot", 3);
    String leases = "array['" + got.get(0).lease() + "','" + got.get(1).lease() + "']::uuid[]";
    String ids = "array[" + got.get(0).id() + "," + got.get(1).id() + "]";

    String plans =
        plansOf("select %s._extend('hot', " + ids + ", " + leases + ", 1000)")
            + plansOf("select %s._ack('hot', " + ids + ", " + leases + ")")
            + plansOf(
                "select * from %s._nack('hot', array["
                    + got.get(2).id()
                    + "], array['"
                    + got.get(2).lease()
                    + "']::uuid[], array[0], array['x'])");

    assertThat(plans).contains("message_pkey").doesNotContain("Seq Scan on message");
  }

  @Test
  void batchAcksArePlannedForTheirSizeOnEveryCall() throws Exception {
    // After five calls PostgreSQL may keep a generic plan for a function's statement. For the
    // settling join, such a plan can guess ten array elements and rescan the whole array for
    // every message: quadratic in the batch (216 ms for 1,000 acks instead of 6-9 ms, measured).
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement()) {
      assumeAutoExplain(s);
      for (int call = 1; call <= 7; call++) {
        List<Delivery> got = broker.read("hot", 200);
        String ids = got.stream().map(d -> Long.toString(d.id())).toList().toString();
        String leases = got.stream().map(d -> "'" + d.lease() + "'").toList().toString();
        if (call == 7) { // the plan a long-lived connection keeps
          explainFromHere(s);
        }
        s.execute(
            "select count(*) from "
                + schema.name()
                + "._ack('hot', array"
                + ids
                + "::bigint[], array"
                + leases
                + "::uuid[])");
      }
      String plans = String.join("\n", warnings(s));
      s.execute("reset all");
      // A generic plan shows the ids as a parameter ("id = ANY ($2)"); one made for these arrays
      // shows their values.
      assertThat(plans).contains("Delete on message", "Index Cond: (id = ANY ('{");
    }
  }

  @Test
  void readsAndAcksKeepToTheirIndexesWhenTheStatisticsPredateTheQueuesMessages() throws Exception {
    // A burst of 10,000 on a table never analysed: no statistics, and its size unknown. The pick
    // was once planned as a bitmap of every due message, sorted (3.5 ms against 0.6 for a read of
    // 500, measured); an ack scanned the queue's whole range of message_fetch and compared every
    // pair of its join (6 ms for 100 acks of 20,000 keyed messages).
    schema.execute(
        "delete from %s.message; delete from pg_statistic where starelid = '%s.message'::regclass;"
            + " update pg_class set reltuples = -1 where oid = '%s.message'::regclass");
    broker.createQueue("burst");
    broker.sendBatch("burst", IntStream.range(0, 10_000).boxed().toList());
    assertThat(plansOf("select count(*) from %s.read('burst', 500)"))
        .contains("Index Scan using message_fetch")
        .doesNotContain("Bitmap Heap Scan on message", "Sort  ");
    List<Delivery> got = broker.read("burst", 50);
    String ids = got.stream().map(d -> Long.toString(d.id())).toList().toString();
    String leases = got.stream().map(d -> "'" + d.lease() + "'").toList().toString();

    String plans =
        plansOf("select %s._ack('burst', array" + ids + "::bigint[], array" + leases + "::uuid[])");

    assertThat(plans)
        .contains("Delete on message", "message_pkey", "Hash Join")
        .doesNotContain("message_fetch", "Nested Loop", "Seq Scan on message");
    assertThat(schema.count("select count(*) from %s.message where queue = 'burst'"))
        .isEqualTo(9_950);
  }

  @Test
  void keyedReadsProbeOnlyTheirOwnKeys() throws Exception {
    // A worker reads while its whole window is leased. The generic plan a long-lived connection
    // keeps once walked every live lease of the queue and tested each against every key it read:
    // 8.6 ms of a 28 ms read of 500 keyed messages with 500 leases live (measured). Each key has
    // a second message, so that its read cannot settle it with the probe for keys of one message.
    queueWithKeys("keys", 800, 400);
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement()) {
      assumeAutoExplain(s);
      for (int call = 1; call <= 7; call++) {
        if (call == 7) { // the plan a long-lived connection keeps, with 300 leases live
          explainFromHere(s);
        }
        s.execute("select count(*) from " + schema.name() + ".read('keys', 50)");
      }
      List<String> plans = warnings(s);
      s.execute("reset all");
      String probe =
          plans.stream().filter(p -> p.contains("leased as (")).findFirst().orElseThrow();
      assertThat(probe)
          .contains("using message_ordering on message h", LEASED_ONES_OF_THE_KEY)
          .doesNotContain("Filter: ((ordering_key = ANY");
      // A key's first messages, for its state: the first ones of its unleased and of its leased
      // messages, of that key alone, merged by id (not all its messages sorted).
      String state = plans.stream().filter(p -> p.contains("state as")).findFirst().orElseThrow();
      assertThat(state).contains(KEY_HEAD).doesNotContain("Seq Scan on message", "message_pkey");
      // The probe that settles a key whose only messages are the picked ones: one range, one key.
      String alone = plans.stream().filter(p -> p.contains("alone as")).findFirst().orElseThrow();
      assertThat(alone)
          .contains("using message_ordering on message h", "AND (ordering_key = k.k))")
          .doesNotContain("Sort  ", "Seq Scan on message");
    }
  }

  @Test
  void keysOfOneMessageAreSettledByOneScanOfTheirIndex() throws Exception {
    // Each key picked once and locked: one scan of message_ordering counts all their messages,
    // and no key takes the probe of its own (500 probes took 2.0 ms of a 7.5 ms read, measured).
    // Checked where vacuum last saw the table empty too, the planner's worst guess.
    queueWithKeys("single", 2000, 2000);
    schema.execute("analyze %s.message");
    for (boolean emptyAsVacuumSawIt : new boolean[] {false, true}) {
      if (emptyAsVacuumSawIt) {
        recordTheTableEmptyAsVacuumDoes();
      }
      List<String> plans = planList("select count(*) from %s._read('single', 50, null, 500)");
      String count =
          plans.stream()
              .filter(p -> p.contains("limit cardinality(keyed) + 1"))
              .findFirst()
              .orElseThrow();
      assertThat(count)
          .contains("using message_ordering on message o", "(ordering_key = ANY (")
          .doesNotContain("Seq Scan on message");
      assertThat(plans).noneMatch(p -> p.contains("alone as") || p.contains("with leased as"));
    }
    assertThat(
            schema.count(
                "select count(*) from %s.message where queue = 'single' and lease is not null"))
        .isEqualTo(100);
  }

  /** The index conditions of a key's first unleased and first leased messages. */
  private static final String[] KEY_HEAD = {
    "(ordering_key = k.k) AND (((lease IS NOT NULL))::integer <= 0))",
    "(ordering_key = k.k) AND (((lease IS NOT NULL))::integer >= 1))"
  };

  @Test
  void keyedReadsKeepToTheirIndexesWhenVacuumLastSawTheTableEmpty() throws Exception {
    // Vacuum of a drained table that it could not shorten records no rows in its pages (reltuples
    // 0), and the planner believes that until the next analyze. A burst of keyed messages after
    // it: each key's first messages were found by walking message_pkey (13 keys of a burst of
    // 20,000: 166 ms instead of 4, measured), and the messages to lock by id through the due
    // range of message_fetch. (Not checked: the takeover of leases that ran out, still planned
    // through message_fetch, which costs only while such leases exist.)
    broker.createQueue("burst");
    for (int block = 0; block < 10; block++) {
      for (int k = 0; k < 20; k++) {
        broker.sendBatch(
            "burst",
            IntStream.range(0, 20).boxed().toList(),
            SendOptions.none().orderingKey("key-" + k));
      }
    }
    recordTheTableEmptyAsVacuumDoes();
    List<String> plans = planList("select count(*) from %s._read('burst', 50, null, 500)");
    String state = plans.stream().filter(p -> p.contains("state as")).findFirst().orElseThrow();
    assertThat(state).contains(KEY_HEAD).doesNotContain("message_pkey", "Seq Scan on message");
    String widen =
        plans.stream()
            .filter(p -> p.contains("keyed || array_agg(m.id)"))
            .findFirst()
            .orElseThrow();
    assertThat(widen).doesNotContain("message_fetch");
    assertThat(
            schema.count(
                "select count(*) from %s.message where queue = 'burst' and lease is not null"))
        .isEqualTo(3 * 200); // the whole runs of the keys of the 50 messages picked
  }

  /** The index condition of a probe for the live leases of one key. */
  private static final String LEASED_ONES_OF_THE_KEY =
      "(ordering_key = k.k) AND (((lease IS NOT NULL))::integer = 1))";

  @Test
  void readsBehindAHeldKeyProbeItsLeaseAlone() throws Exception {
    // A key's backlog analysed while none of it was leased. With a boolean column telling leased
    // from unleased in message_ordering (tried, not kept) the planner took the lease probe for
    // half the key and scanned the whole table (80 ms a read, not 22, with 100,000 waiting:
    // measured). With the integer column it estimates the probe from the index's statistics.
    schema.execute("delete from %s.message"); // the key's backlog is most of the table
    broker.createQueue("held");
    for (int i = 0; i < 5; i++) {
      broker.sendBatch(
          "held",
          IntStream.range(0, 1000).boxed().toList(),
          SendOptions.none().orderingKey("held"));
    }
    schema.execute("analyze %s.message");
    assertThat(broker.read("held", 1, Duration.ofHours(1))).hasSize(1);

    assertThat(plansOf("select * from %s.read('held', 100)"))
        .doesNotContain("Seq Scan on message")
        .contains(LEASED_ONES_OF_THE_KEY);
  }

  @Test
  void nextDueTimeProbesTheFetchIndexPerPriority() throws Exception {
    assertThat(plansOf("select %s._next_due_ms('hot')"))
        .contains("message_fetch")
        .doesNotContain("Seq Scan on message");
  }

  /**
   * What vacuum records of a drained table it could not shorten: no rows in its pages (reltuples 0,
   * for the table and its indexes), which the planner believes until the next analyze.
   */
  private void recordTheTableEmptyAsVacuumDoes() {
    schema.execute(
        "update pg_class set reltuples = 0 where oid = '%s.message'::regclass"
            + " or oid in (select indexrelid from pg_index where indrelid = '%s.message'::regclass)");
  }

  /** Creates the queue and sends it n messages in one transaction, message i with key i % keys. */
  private void queueWithKeys(String queue, int n, int keys) throws SQLException {
    broker.createQueue(queue);
    try (Connection tx = ds.getConnection()) {
      tx.setAutoCommit(false);
      for (int i = 0; i < n; i++) {
        broker.send(tx, queue, i, SendOptions.none().orderingKey("key-" + i % keys));
      }
      tx.commit();
    }
  }

  /** Runs the statement with auto_explain on and returns the plans of every nested statement. */
  private String plansOf(String sqlTemplate) throws SQLException {
    return String.join("\n", planList(sqlTemplate));
  }

  /** The plans of the statement and of every statement nested in it, one each. */
  private List<String> planList(String sqlTemplate) throws SQLException {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement()) {
      assumeAutoExplain(s);
      s.execute("set enable_seqscan = on");
      explainFromHere(s);
      s.execute(sqlTemplate.replace("%s", schema.name()));
      List<String> plans = warnings(s);
      s.execute("reset all");
      return plans;
    }
  }

  /** From here on, every statement's plan comes back as a notice, nested statements' too. */
  private static void explainFromHere(Statement s) throws SQLException {
    s.execute(
        "set auto_explain.log_min_duration = 0; set auto_explain.log_nested_statements = on;"
            + " set auto_explain.log_level = notice; set client_min_messages = notice");
    s.clearWarnings();
  }

  private static void assumeAutoExplain(Statement s) {
    try {
      s.execute("load 'auto_explain'");
    } catch (SQLException e) {
      assumeTrue(
          false,
          "auto_explain cannot be loaded on this server (needs superuser): " + e.getMessage());
    }
  }

  /** The notices of the statement just run: auto_explain's plans, one per statement. */
  private static List<String> warnings(Statement s) throws SQLException {
    List<String> out = new ArrayList<>();
    for (SQLWarning w = s.getWarnings(); w != null; w = w.getNextWarning()) {
      out.add(w.getMessage());
    }
    return out;
  }
}
