package dev.ephemera.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * The worker's HTTP endpoint: the job API, the admin API, signed download links, {@code /metrics} and
 * {@code /health/*}.
 */
public final class ApiServer implements AutoCloseable {
  private final HttpServer server;
  private final ExecutorService executor;

  /** A named readiness check (Postgres, Kafka, the store). */
  public record Check(String name, BooleanSupplier ok) {}

  public ApiServer(
      String host,
      int port,
      ObjectMapper json,
      JobApi jobApi,
      AdminApi adminApi,
      PrometheusMeterRegistry registry,
      dev.ephemera.metrics.Meters meters,
      java.util.List<Check> readiness)
      throws IOException {
    HttpRouter router = new HttpRouter(json, meters::http);
    jobApi.routes(router);
    adminApi.routes(router);
    router.route("GET", "/health/live", r -> HttpRouter.Response.ok(Map.of("status", "up")));
    router.route(
        "GET",
        "/health/ready",
        r -> {
          Map<String, String> checks = new LinkedHashMap<>();
          boolean ready = true;
          for (Check check : readiness) {
            boolean ok;
            try {
              ok = check.ok().getAsBoolean();
            } catch (RuntimeException e) {
              ok = false;
            }
            checks.put(check.name(), ok ? "up" : "down");
            ready &= ok;
          }
          return HttpRouter.Response.json(
              ready ? 200 : 503, Map.of("status", ready ? "ready" : "not_ready", "checks", checks));
        });
    router.route(
        "GET",
        "/metrics",
        r ->
            HttpRouter.Response.bytes(
                200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape().getBytes(StandardCharsets.UTF_8)));
    server = HttpServer.create(new InetSocketAddress(host, port), 128);
    AtomicInteger n = new AtomicInteger();
    // A ThreadPoolExecutor grows past its core size only when its queue is full, so the core size is the real
    // concurrency: 64 threads (idle ones time out), then up to 1024 queued requests; beyond that a request is refused.
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            64,
            64,
            60,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(1024),
            task -> {
              Thread t = new Thread(task, "ephemera-http-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    pool.allowCoreThreadTimeOut(true);
    executor = pool;
    server.setExecutor(executor);
    server.createContext("/", router);
  }

  public void start() {
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(1);
    executor.shutdownNow();
  }
}
