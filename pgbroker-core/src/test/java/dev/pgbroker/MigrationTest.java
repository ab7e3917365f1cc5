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

    assertThat(broker.migrate()).isEqualTo(Migrations.FILES.size());
    assertThat(broker.migrate()).isZero();
    assertThat(versions()).containsExactly(1);
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
        try (Connection c = instance.getConnection(); Statement s = c.createStatement()) {
          s.execute("select to_regnamespace('" + SCHEMA + "')");
        }
        applied.add(pool.submit(() -> {
          go.await();
          return Broker.create(instance).schema(SCHEMA).migrate(false).build().migrate();
        }));
      }
      go.countDown();
      int total = 0;
      for (Future<Integer> f : applied) {
        total += f.get(60, TimeUnit.SECONDS);
      }
      assertThat(total).as("each migration applied by exactly one instance").isEqualTo(Migrations.FILES.size());
    } finally {
      pool.shutdown();
      instances.forEach(HikariDataSource::close);
    }

    assertThat(versions()).containsExactly(1);
    Broker broker = Broker.create(ds).schema(SCHEMA).build();
    broker.createQueue("works");
    assertThat(broker.queues()).containsExactly("works");
  }

  private List<Integer> versions() throws Exception {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("select version from " + SCHEMA + ".schema_version order by 1")) {
      List<Integer> out = new ArrayList<>();
      while (rs.next()) {
        out.add(rs.getInt(1));
      }
      return out;
    }
  }

  private void execute(String sql) throws Exception {
    try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
