package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.testing.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MigrationTest {
  private static final String SCHEMA = "t_migration_" + ProcessHandle.current().pid();
  private final DataSource ds = TestDatabase.dataSource();

  @AfterEach
  void dropSchema() throws Exception {
    execute("drop schema if exists " + SCHEMA + " cascade");
  }

  @Test
  void migratingTwiceAppliesEachVersionOnce() throws Exception {
    execute("drop schema if exists " + SCHEMA + " cascade");
    Broker broker = Broker.create(ds).schema(SCHEMA).migrate(false).build();

    assertThat(broker.migrate()).isEqualTo(Migrations.TABLES.size());
    assertThat(broker.migrate()).isZero();
    assertThat(versions()).hasSize(Migrations.TABLES.size()).startsWith(1);
  }

  @Test
  void instancesStartingTogetherDoNotFail() throws Exception {
    execute("drop schema if exists " + SCHEMA + " cascade");
    List<HikariDataSource> instances = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(6);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<Integer>> applied = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        HikariDataSource instance = TestDatabase.pool(TestDatabase.jdbcUrl(), 1);
        instances.add(instance);
        // Each instance has looked for the schema before and cached that it is missing, as a
        // real application's connections may have.
        try (Connection c = instance.getConnection();
            Statement s = c.createStatement()) {
          s.execute("select to_regnamespace('" + SCHEMA + "')");
        }
        applied.add(
            pool.submit(
                () -> {
                  go.await();
                  return Broker.create(instance).schema(SCHEMA).migrate(false).build().migrate();
                }));
      }
      go.countDown();
      int total = 0;
      for (Future<Integer> f : applied) {
        total += f.get(60, TimeUnit.SECONDS);
      }
      assertThat(total)
          .as("each migration applied by exactly one instance")
          .isEqualTo(Migrations.TABLES.size());
    } finally {
      pool.shutdown();
      instances.forEach(HikariDataSource::close);
    }

    assertThat(versions()).hasSize(Migrations.TABLES.size()).startsWith(1);
    Broker broker = Broker.create(ds).schema(SCHEMA).build();
    broker.createQueue("works");
    assertThat(broker.queues()).containsExactly("works");
  }

  @Test
  void changedCodeIsReplacedWholeAndUnchangedCodeIsLeftAlone() throws Exception {
    execute("drop schema if exists " + SCHEMA + " cascade");
    Broker broker = Broker.create(ds).schema(SCHEMA).build();
    broker.createQueue("kept");
    broker.send("kept", "still here");
    // An older pgbroker's code: a stale hash, a function of its own and a stale body.
    execute("update " + SCHEMA + ".schema_code set sha256 = 'older'");
    execute("create function " + SCHEMA + ".retired() returns int language sql as 'select 1'");
    execute(
        "create or replace function "
            + SCHEMA
            + "._next_due_ms(q text) returns bigint"
            + " language sql as 'select -1::bigint'");
    long functions =
        count("select count(*) from pg_proc where pronamespace = '" + SCHEMA + "'::regnamespace");

    assertThat(broker.migrate()).as("no table migration is due").isZero();

    assertThat(
            count(
                "select count(*) from pg_proc where pronamespace = '" + SCHEMA + "'::regnamespace"))
        .isEqualTo(functions - 1);
    assertThat(count("select " + SCHEMA + "._next_due_ms('kept')"))
        .as("the current function again: one message is due now")
        .isZero();
    assertThat(
            count(
                "select count(*) from pg_trigger where tgname = 'message_dedup_finished'"
                    + " and tgrelid = '"
                    + SCHEMA
                    + ".message'::regclass"))
        .isOne();
    assertThat(broker.read("kept", 1))
        .extracting(d -> d.payload(String.class))
        .containsExactly("still here");

    execute(
        "create or replace function "
            + SCHEMA
            + "._next_due_ms(q text) returns bigint"
            + " language sql as 'select -1::bigint'");
    broker.migrate();
    assertThat(count("select " + SCHEMA + "._next_due_ms('kept')"))
        .as("a current hash means nothing is reapplied")
        .isEqualTo(-1);
  }

  @Test
  void theWholeSchemaAsOneScriptInstallsInPsqlStyle() throws Exception {
    execute("drop schema if exists " + SCHEMA + " cascade");
    execute(Migrations.script(SCHEMA));
    execute("select " + SCHEMA + ".create_queue('plain')");
    assertThat(count("select " + SCHEMA + ".send('plain', '1')")).isPositive();
  }

  private long count(String sql) throws Exception {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private List<Integer> versions() throws Exception {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("select version from " + SCHEMA + ".schema_version order by 1")) {
      List<Integer> out = new ArrayList<>();
      while (rs.next()) {
        out.add(rs.getInt(1));
      }
      return out;
    }
  }

  private void execute(String sql) throws Exception {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
