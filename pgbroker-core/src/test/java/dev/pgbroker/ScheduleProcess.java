package dev.pgbroker;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgbroker.testing.TestDatabase;
import java.sql.PreparedStatement;
import java.time.Duration;

/**
 * One instance of a service with a schedule, for the multi-process schedule test: it puts the
 * schedule "every-second" on start (as every instance of an application would) and runs a worker
 * that records each tick's message in {@code <schema>.ticked}. Runs until killed. Args: jdbcUrl
 * schema instanceName.
 */
public final class ScheduleProcess {
  public static void main(String[] args) throws Exception {
    String schema = args[1];
    String name = args[2];
    HikariDataSource ds = TestDatabase.pool(args[0], 6);
    Broker broker = Broker.create(ds).schema(schema).migrate(false).build();
    broker.schedules().put("every-second", "ticks", Schedule.every(Duration.ofSeconds(1)));
    broker
        .worker()
        .handleInTransaction(
            "ticks",
            (tx, d) -> {
              try (PreparedStatement ps =
                  tx.prepareStatement(
                      "insert into "
                          + schema
                          + ".ticked (tick, message, instance) values (?, ?, ?)")) {
                ps.setString(1, d.headers().get("pgbroker-tick"));
                ps.setLong(2, d.id());
                ps.setString(3, name);
                ps.execute();
              }
            })
        .shutdownHook(true)
        .start();
    System.out.println("schedule instance " + name + " started");
    Thread.currentThread().join();
  }
}
