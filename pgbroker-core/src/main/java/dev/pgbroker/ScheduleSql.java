package dev.pgbroker;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import javax.sql.DataSource;

/** The statements about recurring schedules. */
final class ScheduleSql {
  private final DataSource dataSource;
  private final String schema;

  ScheduleSql(DataSource dataSource, String schema) {
    this.dataSource = dataSource;
    this.schema = schema;
  }

  /** Creates or changes the schedule; returns its next tick. */
  Instant put(String name, String queue, String specJson) {
    return Sql.run(
        dataSource,
        "schedule " + name,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("select " + schema + ".schedule(?, ?, ?::jsonb)")) {
            ps.setString(1, name); // schedule name
            ps.setString(2, queue); // queue each tick's message goes to
            ps.setString(3, specJson); // timing, payload, send options, catch-up
            return Sql.single(ps, rs -> instant(rs, 1));
          }
        });
  }

  boolean remove(String name) {
    return call("remove schedule " + name, "unschedule(?)", name, null);
  }

  boolean pause(String name, boolean paused) {
    return call(
        (paused ? "pause" : "resume") + " schedule " + name, "pause_schedule(?, ?)", name, paused);
  }

  List<ScheduledTask> list() {
    return Sql.run(
        dataSource,
        "list schedules",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "select name, queue, cron, time_zone, every_ms, catch_up, paused, next_at,"
                      + " last_at from "
                      + schema
                      + ".schedule order by name")) {
            return Sql.list(
                ps,
                rs ->
                    new ScheduledTask(
                        rs.getString(1),
                        rs.getString(2),
                        rs.getString(3),
                        rs.getString(4),
                        rs.getObject(5) == null ? null : Duration.ofMillis(rs.getLong(5)),
                        rs.getInt(6),
                        rs.getBoolean(7),
                        instant(rs, 8),
                        instant(rs, 9)));
          }
        });
  }

  /**
   * Sends every due tick (ticks over {@code graceMs} late count as missed); returns the ms until
   * the next tick, or null when no schedule is active.
   */
  Long fire(long graceMs) {
    return Sql.run(
        dataSource,
        "fire due schedules",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("select next_in_ms from " + schema + ".fire_schedules(?)")) {
            ps.setLong(1, graceMs); // lateness after which a tick counts as missed, ms
            return Sql.single(ps, rs -> rs.getObject(1, Long.class));
          }
        });
  }

  private boolean call(String action, String call, String name, Boolean flag) {
    return Sql.run(
        dataSource,
        action,
        c -> {
          try (PreparedStatement ps = c.prepareStatement("select " + schema + "." + call)) {
            ps.setString(1, name); // schedule name
            if (flag != null) {
              ps.setBoolean(2, flag); // paused (true) or running (false)
            }
            return Sql.single(ps, rs -> rs.getBoolean(1));
          }
        });
  }

  private static Instant instant(ResultSet rs, int column) throws SQLException {
    OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
    return t == null ? null : t.toInstant();
  }
}
