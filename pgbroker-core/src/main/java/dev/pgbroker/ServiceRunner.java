package dev.pgbroker;

import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the leader's services. Every instance runs one; each tick it asks for (or renews) the leader
 * lease, and only the holder runs the services that are due. A leader that dies stops renewing, and
 * another instance takes over once the lease runs out; one that stops cleanly resigns, and another
 * takes over at its next tick.
 */
final class ServiceRunner {
  private static final Logger log = LoggerFactory.getLogger(ServiceRunner.class);

  /** How often the lease is renewed (and followers ask for it). */
  static final Duration TICK = Duration.ofSeconds(2);

  /** How long a lease lasts without renewal: several ticks, so a slow tick does not lose it. */
  static final Duration LEASE = TICK.multipliedBy(5);

  private final DataSource dataSource;
  private final String schema;
  private final List<Service> services;
  private final long[] nextRun;
  private final String holder = UUID.randomUUID().toString();
  private final Loop loop;
  private boolean leader;

  ServiceRunner(
      DataSource dataSource, String schema, List<Service> services, WorkerListener listener) {
    this.dataSource = dataSource;
    this.schema = schema;
    this.services = List.copyOf(services);
    this.nextRun = new long[services.size()];
    for (int i = 0; i < nextRun.length; i++) {
      nextRun[i] = System.nanoTime() + services.get(i).interval().toNanos();
    }
    this.loop =
        new Loop(
            "pgbroker-services", this::tick, e -> listener.databaseError("leader services", e));
  }

  void start() {
    loop.start();
  }

  void stop(Duration timeout) {
    loop.stop(timeout);
    if (leader) {
      try {
        Sql.run(
            dataSource,
            "resign leadership",
            c -> {
              try (PreparedStatement ps = c.prepareStatement("select " + schema + ".resign(?)")) {
                ps.setString(1, holder); // this instance's lease holder id
                ps.execute();
              }
              return null;
            });
      } catch (RuntimeException e) {
        log.debug("pgbroker: could not resign; the lease runs out by itself", e);
      }
    }
  }

  private void tick() {
    boolean was = leader;
    leader =
        Sql.run(
            dataSource,
            "take the leader lease",
            c -> {
              try (PreparedStatement ps = c.prepareStatement("select " + schema + ".lead(?, ?)")) {
                ps.setString(1, holder); // this instance's lease holder id
                ps.setLong(2, LEASE.toMillis()); // lease length, ms
                return Sql.single(ps, rs -> rs.getBoolean(1));
              }
            });
    if (leader != was) {
      log.info(
          "pgbroker: this instance {} the leader's services",
          leader ? "now runs" : "no longer runs");
    }
    long now = System.nanoTime();
    for (int i = 0; leader && i < services.size() && !loop.stopping(); i++) {
      if (now - nextRun[i] >= 0) {
        Service s = services.get(i);
        nextRun[i] = now + s.interval().toNanos();
        try {
          s.work().run();
        } catch (Exception e) {
          log.warn(
              "pgbroker: service {} failed; it runs again in {}: {}",
              s.name(),
              s.interval(),
              e.getMessage());
        }
      }
    }
    loop.await(TICK.toMillis());
  }
}
