package dev.pgbroker.server.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.pgbroker.Broker;
import dev.pgbroker.StaleLeaseException;
import dev.pgbroker.UnknownQueueException;
import dev.pgbroker.UnknownTopicException;
import dev.pgbroker.micrometer.PgBrokerMetrics;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.postgresql.util.PSQLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * pgbroker over HTTP: the JSON API under {@code /v1}, the dashboard at {@code /dashboard/}, {@code
 * /metrics} (Prometheus) and {@code /health/live|ready}, served by the JDK's own HTTP server. Every
 * request but the health probes, the OpenAPI document and the dashboard's static files needs a
 * bearer token; changes need an admin token. Errors are {@code {"code", "message"}} with a 4xx
 * status for the client's mistakes; a failure of ours is a 500 whose details go to the log only.
 *
 * <p>{@link #start} takes a data source that can spare one connection for LISTEN (long polls wait
 * on it) beside the requests' own. Safe to share between threads; {@link #close} may be called
 * twice.
 */
public final class HttpApi implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HttpApi.class);

  /** Request threads; a long poll holds one while it waits, but no database connection. */
  static final int THREADS = 200;

  static {
    // Headers and body leave as two writes; with Nagle's algorithm on, the body waits for the
    // client's delayed ACK of the headers, adding about 40 ms to every answer (measured: long-poll
    // wake-up median 58 ms with it, see HttpApiTest). Read once, when the JDK server first loads.
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  private final HttpServer server;
  private final ThreadPoolExecutor executor;
  private final WakeHub wakeHub;
  private final PrometheusMeterRegistry registry;
  private final List<Route> routes;
  private final Auth auth;
  private final ObjectMapper mapper = new ObjectMapper();
  private final int maxBodyBytes;
  private final AtomicInteger closed = new AtomicInteger();

  private HttpApi(
      Broker broker, DataSource dataSource, ApiSettings settings, List<String> relayedQueues)
      throws IOException {
    this.auth = new Auth(settings.adminTokens(), settings.readTokens());
    this.maxBodyBytes = settings.maxBodyBytes();
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new PgBrokerMetrics(broker).bindTo(registry);
    RelayLag relayLag = new RelayLag(dataSource, broker.schema(), relayedQueues);
    for (String queue : relayLag.queues()) {
      Gauge.builder("pgbroker.relay.lag", relayLag, l -> l.seconds(queue))
          .tag("queue", queue)
          .baseUnit("seconds")
          .description("age of the oldest message the relay in this process has yet to publish")
          .register(registry);
    }
    this.wakeHub = new WakeHub(dataSource, broker.schema());
    Settlements settlements = new Settlements(dataSource, broker.schema());
    List<Route> all = new ArrayList<>();
    all.addAll(new QueueRoutes(broker).routes());
    all.addAll(new MessageRoutes(broker, wakeHub, settlements).routes());
    all.addAll(new BatchSettleRoutes(settlements).routes());
    all.add(new Route("GET", "/v1/relay", Route.Access.READ, c -> relayLag.reply()));
    all.addAll(new DeadLetterRoutes(broker).routes());
    all.addAll(new TopicRoutes(broker).routes());
    all.addAll(new ScheduleRoutes(broker).routes());
    all.addAll(new SystemRoutes(dataSource, broker.schema(), registry).routes());
    this.routes = List.copyOf(all);
    AtomicInteger n = new AtomicInteger();
    this.executor =
        new ThreadPoolExecutor(
            THREADS,
            THREADS,
            30,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            r -> {
              Thread t = new Thread(r, "pgbroker-http-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    executor.allowCoreThreadTimeOut(true);
    try {
      this.server =
          HttpServer.create(new InetSocketAddress(settings.bindAddress(), settings.port()), 256);
    } catch (IOException e) {
      wakeHub.close();
      throw new IOException(
          "cannot listen on " + settings.bindAddress() + ":" + settings.port() + ": " + e, e);
    }
    server.createContext("/", this::dispatch);
    server.setExecutor(executor);
    server.start();
  }

  /** Starts serving; the broker and data source stay the caller's to close, after this. */
  public static HttpApi start(Broker broker, DataSource dataSource, ApiSettings settings)
      throws IOException {
    return new HttpApi(broker, dataSource, settings, List.of());
  }

  /**
   * Starts serving, showing the lag of a relay that runs beside it: on the dashboard, at {@code GET
   * /v1/relay} and as the gauge {@code pgbroker_relay_lag_seconds{queue}}.
   *
   * @param relayedQueues the queues the relay consumes
   */
  public static HttpApi start(
      Broker broker, DataSource dataSource, ApiSettings settings, List<String> relayedQueues)
      throws IOException {
    return new HttpApi(broker, dataSource, settings, relayedQueues);
  }

  /** The port listened on (the one picked, when the settings said 0). */
  public int port() {
    return server.getAddress().getPort();
  }

  /** The base address, e.g. {@code http://127.0.0.1:8080/}. */
  public URI uri() {
    String host = server.getAddress().getHostString();
    return URI.create(
        "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port() + "/");
  }

  /** Every method and path template served, for the OpenAPI check. */
  List<Route> routes() {
    return routes;
  }

  private void dispatch(HttpExchange exchange) throws IOException {
    try (exchange) {
      Reply reply;
      try {
        reply = route(exchange);
      } catch (Exception e) {
        reply = error(exchange, e);
      }
      write(exchange, reply);
    } catch (IOException e) {
      log.debug("could not answer {}: {}", exchange.getRequestURI(), e.toString());
    }
  }

  private Reply route(HttpExchange exchange) throws Exception {
    List<String> segments = Route.segmentsOf(exchange.getRequestURI().getRawPath());
    List<String> decoded = new ArrayList<>(segments.size());
    for (String s : segments) {
      decoded.add(java.net.URLDecoder.decode(s.replace("+", "%2B"), "UTF-8"));
    }
    String method = exchange.getRequestMethod();
    boolean pathKnown = false;
    String path = exchange.getRequestURI().getRawPath();
    for (Route r : routes) {
      Map<String, String> values = r.match(decoded);
      // "/dashboard/" and "/" differ from their segments only by the slash
      if (values == null || (r.template().endsWith("/") && !path.endsWith("/"))) {
        continue;
      }
      if (!r.method().equals(method)) {
        pathKnown = true;
        continue;
      }
      if (r.access() != Route.Access.PUBLIC) {
        Auth.Scope scope = auth.scopeOf(exchange.getRequestHeaders().getFirst("Authorization"));
        if (r.access() == Route.Access.ADMIN && scope != Auth.Scope.ADMIN) {
          throw new ApiError(
              403,
              "forbidden",
              "this token is read-only; " + method + " " + r.template() + " needs an admin token");
        }
      }
      return r.handler().handle(new Call(exchange, values, mapper, maxBodyBytes));
    }
    if (pathKnown) {
      throw new ApiError(405, "method_not_allowed", method + " is not served on this path");
    }
    throw ApiError.notFound("not_found", "no route for " + method + " " + Call.abbreviate(path));
  }

  private static Reply error(HttpExchange exchange, Exception e) {
    ApiError a;
    if (e instanceof ApiError) {
      a = (ApiError) e;
    } else if (e instanceof UnknownQueueException) {
      a = ApiError.notFound("unknown_queue", e.getMessage());
    } else if (e instanceof UnknownTopicException) {
      a = ApiError.notFound("unknown_topic", e.getMessage());
    } else if (e instanceof StaleLeaseException) {
      a = new ApiError(409, "stale_lease", e.getMessage());
    } else if (e instanceof IllegalArgumentException) {
      a = ApiError.badRequest(e.getMessage());
    } else if (e.getCause() instanceof PSQLException
        && SqlErrors.toApiError((PSQLException) e.getCause()) instanceof ApiError) {
      a = (ApiError) SqlErrors.toApiError((PSQLException) e.getCause());
    } else {
      log.warn("{} {} failed", exchange.getRequestMethod(), exchange.getRequestURI().getPath(), e);
      a = new ApiError(500, "internal", "the server failed to answer; its log has the details");
    }
    if (a.status == 401) {
      exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer");
    }
    return Reply.of(a.status, Map.of("code", a.code, "message", String.valueOf(a.getMessage())));
  }

  private void write(HttpExchange exchange, Reply reply) throws IOException {
    byte[] bytes = reply.bytes() != null ? reply.bytes() : mapper.writeValueAsBytes(reply.json());
    String type = reply.contentType() != null ? reply.contentType() : "application/json";
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.getResponseHeaders().set("Cache-Control", "no-store");
    exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
    if (reply.location() != null) {
      exchange.getResponseHeaders().set("Location", reply.location());
    }
    exchange.sendResponseHeaders(reply.status(), bytes.length == 0 ? -1 : bytes.length);
    if (bytes.length > 0) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    }
  }

  /** Stops accepting requests, gives running ones a second, and stops listening. */
  @Override
  public void close() {
    if (closed.getAndIncrement() > 0) {
      return;
    }
    wakeHub.close(); // long polls waiting on it answer now, with what they have
    server.stop(1);
    executor.shutdownNow();
    registry.close();
  }
}
