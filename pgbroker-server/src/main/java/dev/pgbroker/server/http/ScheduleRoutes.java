package dev.pgbroker.server.http;

import dev.pgbroker.Broker;
import dev.pgbroker.ScheduledTask;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Recurring schedules: list with next and last runs, pause and resume. */
final class ScheduleRoutes {
  private final Broker broker;

  ScheduleRoutes(Broker broker) {
    this.broker = broker;
  }

  List<Route> routes() {
    return List.of(
        new Route("GET", "/v1/schedules", Route.Access.READ, c -> list()),
        new Route(
            "POST", "/v1/schedules/{schedule}/pause", Route.Access.ADMIN, c -> pause(c, true)),
        new Route(
            "POST", "/v1/schedules/{schedule}/resume", Route.Access.ADMIN, c -> pause(c, false)));
  }

  private Reply list() {
    List<Object> out = new ArrayList<>();
    for (ScheduledTask t : broker.schedules().list()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", t.name());
      m.put("queue", t.queue());
      m.put("cron", t.cron());
      m.put("time_zone", t.timeZone());
      m.put("every_ms", t.every() == null ? null : t.every().toMillis());
      m.put("paused", t.paused());
      m.put("next_run", String.valueOf(t.nextRun()));
      m.put("last_run", t.lastRun() == null ? null : t.lastRun().toString());
      out.add(m);
    }
    return Reply.ok(Map.of("schedules", out));
  }

  private Reply pause(Call call, boolean pause) {
    String name = call.name("schedule");
    boolean found = pause ? broker.schedules().pause(name) : broker.schedules().resume(name);
    if (!found) {
      throw ApiError.notFound("unknown_schedule", "no schedule named " + name);
    }
    return Reply.ok(Map.of("name", name, "paused", pause));
  }
}
