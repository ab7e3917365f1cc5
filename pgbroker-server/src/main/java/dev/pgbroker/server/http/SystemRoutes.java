package dev.pgbroker.server.http;

import dev.pgbroker.Broker;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;

/**
 * Health probes, Prometheus metrics, the OpenAPI document and the dashboard's static files. The
 * probes and static files need no token: they carry no data (the dashboard fetches everything it
 * shows from the API, with the token the user gives it).
 */
final class SystemRoutes {
  static final String OPENAPI = "openapi.json";
  private static final String STATIC = "/dev/pgbroker/server/http/";
  private static final List<String> DASHBOARD_FILES = List.of("index.html", "app.js", "style.css");

  private final DataSource dataSource;
  private final String schema;
  private final PrometheusMeterRegistry registry;

  SystemRoutes(DataSource dataSource, String schema, PrometheusMeterRegistry registry) {
    this.dataSource = dataSource;
    this.schema = schema;
    this.registry = registry;
  }

  List<Route> routes() {
    return List.of(
        new Route(
            "GET", "/health/live", Route.Access.PUBLIC, c -> Reply.ok(Map.of("status", "up"))),
        new Route("GET", "/health/ready", Route.Access.PUBLIC, c -> ready()),
        new Route(
            "GET",
            "/metrics",
            Route.Access.READ,
            c -> Reply.text(scrape(), "text/plain; version=0.0.4; charset=utf-8")),
        new Route(
            "GET",
            "/v1/openapi.json",
            Route.Access.PUBLIC,
            c -> Reply.bytes(resource(OPENAPI), "application/json")),
        new Route("GET", "/", Route.Access.PUBLIC, c -> Reply.redirect("/dashboard/")),
        new Route("GET", "/dashboard/", Route.Access.PUBLIC, c -> file("index.html")),
        new Route("GET", "/dashboard/{file}", Route.Access.PUBLIC, this::dashboardFile));
  }

  private String scrape() {
    // Reading this gauge first registers the meters of queues made since the last scrape, so
    // they are in this one rather than the next.
    registry.find("pgbroker.queues").gauges().forEach(g -> g.value());
    return registry.scrape();
  }

  /** Ready when the database answers and the schema is at the version this build expects. */
  private Reply ready() {
    int version;
    try (Connection c = dataSource.getConnection();
        Statement st = c.createStatement();
        ResultSet rs =
            st.executeQuery(
                "select coalesce(max(version), 0) from " + schema + ".schema_version")) {
      rs.next();
      version = rs.getInt(1);
    } catch (SQLException e) {
      return Reply.of(
          503, Map.of("code", "database_unreachable", "message", "database: " + e.getMessage()));
    }
    if (version != Broker.SCHEMA_VERSION) {
      return Reply.of(
          503,
          Map.of(
              "code",
              "schema_not_current",
              "message",
              "schema "
                  + schema
                  + " is at version "
                  + version
                  + ", this server needs "
                  + Broker.SCHEMA_VERSION
                  + ": run pgbroker migrate"));
    }
    return Reply.ok(Map.of("status", "ready", "schema", schema, "schema_version", version));
  }

  private Reply dashboardFile(Call call) throws IOException {
    String name = call.pathValue("file");
    if (!DASHBOARD_FILES.contains(name)) {
      throw ApiError.notFound("not_found", "no dashboard file named " + Call.abbreviate(name));
    }
    return file(name);
  }

  private static Reply file(String name) throws IOException {
    String type =
        name.endsWith(".html")
            ? "text/html; charset=utf-8"
            : name.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8";
    return Reply.bytes(resource("dashboard/" + name), type);
  }

  static byte[] resource(String name) throws IOException {
    try (InputStream in = SystemRoutes.class.getResourceAsStream(STATIC + name)) {
      if (in == null) {
        throw new IOException("missing resource " + STATIC + name);
      }
      return in.readAllBytes();
    }
  }
}
