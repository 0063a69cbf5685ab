package dev.ephemera.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;

/**
 * Every meter name and tag key Ephemera publishes, in one place (Prometheus naming; tags have few values, never a job
 * or set id). The Grafana dashboards in {@code grafana/} show each of them.
 */
public final class Meters {
  public static final String EVENTS = "ephemera.events";
  public static final String EVENT_SECONDS = "ephemera.event.processing";
  public static final String DECISIONS = "ephemera.decisions";
  public static final String DLQ = "ephemera.dlq";
  public static final String OUTBOX_PUBLISHED = "ephemera.outbox.published";
  public static final String OUTBOX_BACKLOG = "ephemera.outbox.backlog";
  public static final String OUTBOX_OLDEST_SECONDS = "ephemera.outbox.oldest.age";
  public static final String HTTP_REQUESTS = "ephemera.http.requests";
  public static final String RESTORES = "ephemera.restores";
  public static final String CHUNK_UPLOADS = "ephemera.chunk.uploads";
  public static final String CHUNK_UPLOAD_BYTES = "ephemera.chunk.upload";
  public static final String DENIED = "ephemera.denied";
  public static final String GC_CHUNKS_DELETED = "ephemera.gc.chunks.deleted";
  public static final String GC_BYTES_DELETED = "ephemera.gc.deleted";

  public static final String TAG_TYPE = "type";
  public static final String TAG_OUTCOME = "outcome";
  public static final String TAG_DECISION = "decision";
  public static final String TAG_REASON = "reason";
  public static final String TAG_ROUTE = "route";
  public static final String TAG_METHOD = "method";
  public static final String TAG_STATUS = "status";
  public static final String TAG_LEVEL = "fallback_level";
  public static final String TAG_TOPIC = "topic";

  private final MeterRegistry registry;

  public Meters(MeterRegistry registry) {
    this.registry = registry;
  }

  /** A Prometheus registry with JVM and process meters bound. */
  public static PrometheusMeterRegistry prometheus() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new ClassLoaderMetrics().bindTo(registry);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    return registry;
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** An input event handled: {@code outcome} is applied, duplicate or dlq. */
  public void event(String type, String outcome, Duration took) {
    Counter.builder(EVENTS).tag(TAG_TYPE, type).tag(TAG_OUTCOME, outcome).register(registry).increment();
    Timer.builder(EVENT_SECONDS).tag(TAG_TYPE, type).publishPercentileHistogram().register(registry).record(took);
  }

  public void decision(String decision, String reason) {
    Counter.builder(DECISIONS).tag(TAG_DECISION, decision).tag(TAG_REASON, reason).register(registry).increment();
  }

  public void deadLetter(String topic, String reason) {
    Counter.builder(DLQ).tag(TAG_TOPIC, topic).tag(TAG_REASON, reason).register(registry).increment();
  }

  public void outboxPublished(String topic, int count) {
    Counter.builder(OUTBOX_PUBLISHED).tag(TAG_TOPIC, topic).register(registry).increment(count);
  }

  public void http(String method, String route, int status, double seconds) {
    Timer.builder(HTTP_REQUESTS)
        .tag(TAG_METHOD, method)
        .tag(TAG_ROUTE, route)
        .tag(TAG_STATUS, Integer.toString(status))
        .register(registry)
        .record(Duration.ofNanos((long) (seconds * 1e9)));
  }

  /** A restore answered: {@code outcome} hit or miss; the level is the fallback level of a hit. */
  public void restore(String outcome, int fallbackLevel) {
    Counter.builder(RESTORES)
        .tag(TAG_OUTCOME, outcome)
        .tag(TAG_LEVEL, fallbackLevel < 0 ? "none" : Integer.toString(fallbackLevel))
        .register(registry)
        .increment();
  }

  /** A chunk upload: {@code outcome} stored (new bytes) or deduplicated (the store had it). */
  public void chunkUpload(String outcome, long rawBytes) {
    Counter.builder(CHUNK_UPLOADS).tag(TAG_OUTCOME, outcome).register(registry).increment();
    DistributionSummary.builder(CHUNK_UPLOAD_BYTES)
        .baseUnit("bytes")
        .tag(TAG_OUTCOME, outcome)
        .register(registry)
        .record(rawBytes);
  }

  /** A request refused by policy or authentication. */
  public void denied(String reason) {
    Counter.builder(DENIED).tag(TAG_REASON, reason).register(registry).increment();
  }

  /** Chunks the collector deleted from the store, and their stored bytes. */
  public void gcDeleted(int chunks, long storedBytes) {
    Counter.builder(GC_CHUNKS_DELETED).register(registry).increment(chunks);
    Counter.builder(GC_BYTES_DELETED).baseUnit("bytes").register(registry).increment(storedBytes);
  }
}
