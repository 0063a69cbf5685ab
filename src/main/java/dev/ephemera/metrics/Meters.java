package dev.ephemera.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every meter name and tag key Ephemera publishes, in one place (Prometheus naming; tags have few values, never a job
 * or set id). The README's "Metrics" section documents each one and the Grafana dashboards in {@code grafana/} show
 * each one ({@code MetersDocumentedTest} and {@code GrafanaQueriesIT} fail otherwise).
 *
 * <p>Names are Micrometer's dotted form; the Prometheus registry adds {@code _total} to counters, {@code _seconds} to
 * timers and the base unit to gauges and summaries ({@code ephemera.events} → {@code ephemera_events_total}).
 */
public final class Meters {
  // ---- the pipeline (consumer, applier, outbox) ----
  public static final String EVENTS = "ephemera.events";
  public static final String EVENT_SECONDS = "ephemera.event.processing";
  public static final String EVENT_ERRORS = "ephemera.event.errors";
  public static final String STAGE_SECONDS = "ephemera.stage";
  public static final String DECISIONS = "ephemera.decisions";
  public static final String DLQ = "ephemera.dlq";
  public static final String OUTBOX_PUBLISHED = "ephemera.outbox.published";
  public static final String OUTBOX_BACKLOG = "ephemera.outbox.backlog";
  public static final String OUTBOX_OLDEST_SECONDS = "ephemera.outbox.oldest.age";
  public static final String CONSUMER_LAG = "ephemera.consumer.lag";
  public static final String KAFKA_CALLS = "ephemera.kafka.call";
  // ---- the HTTP API (job side) ----
  public static final String HTTP_REQUESTS = "ephemera.http.requests";
  public static final String RESTORES = "ephemera.restores";
  public static final String RESTORE_SECONDS = "ephemera.restore";
  public static final String PERSIST_SECONDS = "ephemera.persist";
  public static final String CHUNK_UPLOADS = "ephemera.chunk.uploads";
  public static final String CHUNK_UPLOAD_BYTES = "ephemera.chunk.upload";
  public static final String CHUNK_DOWNLOAD_BYTES = "ephemera.chunk.download";
  public static final String CHUNK_PATCH_BYTES = "ephemera.chunk.patch";
  public static final String DENIED = "ephemera.denied";
  public static final String VERIFY_SECONDS = "ephemera.set.verify";
  public static final String VERIFY_IN_FLIGHT = "ephemera.set.verify.inflight";
  // ---- dependencies ----
  public static final String STORE_CALLS = "ephemera.store.call";
  public static final String DB_STATEMENTS = "ephemera.db.statement";
  // ---- what the catalog holds (refreshed periodically by CatalogGauges) ----
  public static final String OWNER_STORED_BYTES = "ephemera.owner.stored";
  public static final String OWNER_QUOTA_BYTES = "ephemera.owner.quota";
  public static final String CATALOG_SETS = "ephemera.catalog.sets";
  public static final String CATALOG_SET_BYTES = "ephemera.catalog.set";
  public static final String CATALOG_CHUNKS = "ephemera.catalog.chunks";
  public static final String CATALOG_CHUNK_BYTES = "ephemera.catalog.chunk";
  public static final String CATALOG_REFRESH_AGE = "ephemera.catalog.refresh.age";
  // ---- retention ----
  public static final String EVICTED_BYTES = "ephemera.evicted";
  public static final String GC_REQUESTS = "ephemera.gc.requests";
  public static final String GC_RUNS = "ephemera.gc.runs";
  public static final String GC_DELETED_CHUNKS = "ephemera.gc.deleted.chunks";
  public static final String GC_DELETED_BYTES = "ephemera.gc.deleted";

  /** Every Ephemera meter above, for the documentation and dashboard tests. */
  public static final List<String> ALL =
      List.of(
          EVENTS, EVENT_SECONDS, EVENT_ERRORS, STAGE_SECONDS, DECISIONS, DLQ, OUTBOX_PUBLISHED, OUTBOX_BACKLOG,
          OUTBOX_OLDEST_SECONDS, CONSUMER_LAG, KAFKA_CALLS, HTTP_REQUESTS, RESTORES, RESTORE_SECONDS, PERSIST_SECONDS,
          CHUNK_UPLOADS, CHUNK_UPLOAD_BYTES, CHUNK_DOWNLOAD_BYTES, CHUNK_PATCH_BYTES, DENIED, VERIFY_SECONDS, VERIFY_IN_FLIGHT,
          STORE_CALLS, DB_STATEMENTS,
          OWNER_STORED_BYTES, OWNER_QUOTA_BYTES, CATALOG_SETS, CATALOG_SET_BYTES, CATALOG_CHUNKS, CATALOG_CHUNK_BYTES,
          CATALOG_REFRESH_AGE, EVICTED_BYTES, GC_REQUESTS, GC_RUNS, GC_DELETED_CHUNKS, GC_DELETED_BYTES);

  /**
   * Families bound from libraries (JVM, process, Hikari): not named here one by one, but each family is documented
   * and has a panel.
   */
  public static final List<String> BOUND_FAMILIES = List.of("jvm_", "process_", "system_", "hikaricp_");

  public static final String TAG_TYPE = "type";
  public static final String TAG_OUTCOME = "outcome";
  public static final String TAG_DECISION = "decision";
  public static final String TAG_REASON = "reason";
  public static final String TAG_ROUTE = "route";
  public static final String TAG_METHOD = "method";
  public static final String TAG_STATUS = "status";
  public static final String TAG_LEVEL = "fallback_level";
  public static final String TAG_TOPIC = "topic";
  public static final String TAG_PARTITION = "partition";
  public static final String TAG_KIND = "kind";
  public static final String TAG_STEP = "step";
  public static final String TAG_OP = "op";
  public static final String TAG_OWNER = "owner";
  public static final String TAG_SIZE = "size";

  /** The owner tag value that aggregates every owner outside the top N. */
  public static final String OTHER_OWNERS = "other";

  /**
   * Histogram buckets for latencies: explicit, few (12 series per tag set instead of Micrometer's ~70), from a 5 ms
   * chunk call to a 2-minute registration of a huge set.
   */
  private static final Duration[] LATENCY_BUCKETS = {
    Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
    Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
    Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30),
    Duration.ofMinutes(2)
  };

  private final MeterRegistry registry;

  public Meters(MeterRegistry registry) {
    this.registry = registry;
    initialize();
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
    new FileDescriptorMetrics().bindTo(registry);
    return registry;
  }

  /**
   * Registers at zero the series an alert or panel compares over time, so that "nothing happened" reads as 0 and not
   * as no data ({@code rate()} of a series that appears at 1 misses its first increment).
   */
  private void initialize() {
    for (String kind : List.of("transient", "poison", "fatal")) {
      Counter.builder(EVENT_ERRORS).tag(TAG_KIND, kind).register(registry);
    }
    for (String reason : List.of("quota", "idle")) {
      Counter.builder(DECISIONS).tag(TAG_DECISION, "evicted").tag(TAG_REASON, reason).register(registry);
      evictedBytes(reason);
    }
    Counter.builder(DECISIONS).tag(TAG_DECISION, "invalidated").tag(TAG_REASON, "admin").register(registry);
    Counter.builder(GC_REQUESTS).register(registry);
    for (String outcome : List.of("ok", "error")) {
      Counter.builder(GC_RUNS).tag(TAG_OUTCOME, outcome).register(registry);
    }
    Counter.builder(GC_DELETED_CHUNKS).register(registry);
    Counter.builder(GC_DELETED_BYTES).baseUnit("bytes").register(registry);
    for (String outcome : List.of("stored", "deduplicated")) {
      Counter.builder(CHUNK_UPLOADS).tag(TAG_OUTCOME, outcome).register(registry);
    }
    Counter.builder(RESTORES).tag(TAG_OUTCOME, "miss").tag(TAG_LEVEL, "none").register(registry);
    Counter.builder(RESTORES).tag(TAG_OUTCOME, "hit").tag(TAG_LEVEL, "0").register(registry);
  }

  private Counter evictedBytes(String reason) {
    return Counter.builder(EVICTED_BYTES).baseUnit("bytes").tag(TAG_REASON, reason).register(registry);
  }

  private Timer.Builder latency(String name) {
    return Timer.builder(name).serviceLevelObjectives(LATENCY_BUCKETS);
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** An input event handled: {@code outcome} is applied, duplicate or dlq (a dead letter is also a poison error). */
  public void event(String type, String outcome, Duration took) {
    Counter.builder(EVENTS).tag(TAG_TYPE, type).tag(TAG_OUTCOME, outcome).register(registry).increment();
    latency(EVENT_SECONDS).tag(TAG_TYPE, type).register(registry).record(took);
    if (outcome.equals("dlq")) {
      eventError("poison");
    }
  }

  /** Applying a record failed: {@code transient} (retried), {@code poison} (dead-lettered) or {@code fatal}. */
  public void eventError(String kind) {
    Counter.builder(EVENT_ERRORS).tag(TAG_KIND, kind).register(registry).increment();
  }

  /** From a {@code job.started} event's time to its staging decisions being applied (includes consumer lag). */
  public void staged(Duration sinceEvent) {
    latency(STAGE_SECONDS).register(registry).record(sinceEvent.isNegative() ? Duration.ZERO : sinceEvent);
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

  /** A call to Kafka: {@code op} is poll, commit or publish (an outbox batch: send and every acknowledgement). */
  public void kafkaCall(String op, boolean ok, long nanos) {
    latency(KAFKA_CALLS)
        .tag(TAG_OP, op)
        .tag(TAG_OUTCOME, ok ? "ok" : "error")
        .register(registry)
        .record(Duration.ofNanos(nanos));
  }

  /** A call to the object store; {@code outcome} is ok, missing (no such object) or error. */
  public void storeCall(String op, String outcome, long nanos) {
    latency(STORE_CALLS).tag(TAG_OP, op).tag(TAG_OUTCOME, outcome).register(registry).record(Duration.ofNanos(nanos));
  }

  /** One SQL statement against the catalog. */
  public void dbStatement(boolean ok, long nanos) {
    latency(DB_STATEMENTS).tag(TAG_OUTCOME, ok ? "ok" : "error").register(registry).record(Duration.ofNanos(nanos));
  }

  /**
   * One HTTP request, by route template (never the raw path). The job API's persist and restore routes are also the
   * server's share of a persist or restore, so they are recorded a second time as that step (see {@link #STEPS}).
   */
  public void http(String method, String route, int status, double seconds) {
    String m = METHODS.contains(method) ? method : "other";
    Duration took = Duration.ofNanos((long) (seconds * 1e9));
    latency(HTTP_REQUESTS)
        .tag(TAG_METHOD, m)
        .tag(TAG_ROUTE, route)
        .tag(TAG_STATUS, Integer.toString(status))
        .register(registry)
        .record(took);
    Step step = STEPS.get(m + " " + route);
    if (step != null) {
      boolean miss = status == 404 && step.step().equals("resolve");
      String outcome = status < 400 || miss ? "ok" : status < 500 ? "rejected" : "error";
      latency(step.meter()).tag(TAG_STEP, step.step()).tag(TAG_OUTCOME, outcome).register(registry).record(took);
    }
  }

  /** A job API route seen as a step of a persist or a restore. */
  public record Step(String meter, String step) {}

  private static final Set<String> METHODS = Set.of("GET", "HEAD", "POST", "PUT", "DELETE");

  /**
   * The job API routes that are steps of a persist ({@code ephemera_persist_seconds}) or a restore ({@code
   * ephemera_restore_seconds}), by {@code "METHOD route"}. A restore's miss (404 on resolve) is an answer, not an
   * error.
   */
  public static final Map<String, Step> STEPS =
      Map.ofEntries(
          Map.entry("POST /v1/jobs/{job}/chunks/present", new Step(PERSIST_SECONDS, "present")),
          Map.entry("PUT /v1/jobs/{job}/chunks/{sha}", new Step(PERSIST_SECONDS, "chunk_upload")),
          Map.entry("PUT /v1/jobs/{job}/chunks/{sha}/patch", new Step(PERSIST_SECONDS, "chunk_patch")),
          Map.entry("POST /v1/jobs/{job}/sets", new Step(PERSIST_SECONDS, "register")),
          Map.entry("GET /v1/jobs/{job}/staged", new Step(RESTORE_SECONDS, "staged")),
          Map.entry("GET /v1/jobs/{job}/sets/{name}", new Step(RESTORE_SECONDS, "resolve")),
          Map.entry("GET /v1/jobs/{job}/sets/{set}/manifest", new Step(RESTORE_SECONDS, "manifest")),
          Map.entry("GET /v1/jobs/{job}/sets/{set}/chunks/{sha}", new Step(RESTORE_SECONDS, "chunk_download")),
          Map.entry("GET /v1/jobs/{job}/sets/{set}/chunk-urls", new Step(RESTORE_SECONDS, "chunk_urls")),
          Map.entry("POST /v1/jobs/{job}/restores", new Step(RESTORE_SECONDS, "record")),
          Map.entry("GET /v1/sets/{set}/archive.tar.zst", new Step(RESTORE_SECONDS, "link_download")));

  /** A restore answered: {@code outcome} hit or miss; the level is the fallback level of a hit. */
  public void restore(String outcome, int fallbackLevel) {
    Counter.builder(RESTORES)
        .tag(TAG_OUTCOME, outcome)
        .tag(TAG_LEVEL, fallbackLevel < 0 ? "none" : Integer.toString(fallbackLevel))
        .register(registry)
        .increment();
  }

  /**
   * A chunk a job offered: {@code outcome} stored (uploaded, new), patched (new, rebuilt from a chunk patch: the job
   * sent {@link #chunkPatch} bytes instead) or deduplicated (the store had it, so it was not uploaded again); bytes are
   * the chunk's compressed frame.
   */
  public void chunkUpload(String outcome, long frameBytes) {
    Counter.builder(CHUNK_UPLOADS).tag(TAG_OUTCOME, outcome).register(registry).increment();
    DistributionSummary.builder(CHUNK_UPLOAD_BYTES)
        .baseUnit("bytes")
        .tag(TAG_OUTCOME, outcome)
        .register(registry)
        .record(frameBytes);
  }

  /** A chunk patch received (its body: copies of a set's stream and the compressed bytes it does not share). */
  public void chunkPatch(long bodyBytes) {
    DistributionSummary.builder(CHUNK_PATCH_BYTES).baseUnit("bytes").register(registry).record(bodyBytes);
  }

  /** A chunk served to a restoring job, or handed to it as a presigned URL (stored, compressed bytes). */
  public void chunkDownload(long storedBytes) {
    DistributionSummary.builder(CHUNK_DOWNLOAD_BYTES).baseUnit("bytes").register(registry).record(storedBytes);
  }

  /**
   * A registration verified in the background: {@code outcome} verified (now a pending set), digest_mismatch,
   * unsafe_archive or chunk_missing (dropped), job_completed (dropped: its job completed before it was verified).
   */
  public void verification(String outcome, long nanos) {
    latency(VERIFY_SECONDS).tag(TAG_OUTCOME, outcome).register(registry).record(Duration.ofNanos(nanos));
  }

  /** The registrations this process is verifying or has queued (the map's size, read at each scrape). */
  public void verificationsInFlight(Map<?, ?> verifying) {
    Gauge.builder(VERIFY_IN_FLIGHT, verifying, Map::size).strongReference(true).register(registry);
  }

  /** A request refused by policy or authentication. */
  public void denied(String reason) {
    Counter.builder(DENIED).tag(TAG_REASON, reason).register(registry).increment();
  }

  /** A set evicted ({@code reason} quota or idle) with the compressed bytes it accounted for. */
  public void evicted(String reason, long archiveBytes) {
    decision("evicted", reason);
    evictedBytes(reason).increment(archiveBytes);
  }

  /** An {@code ephemera.gc} request received on the control topic. */
  public void gcRequested() {
    Counter.builder(GC_REQUESTS).register(registry).increment();
  }

  /** A GC sweep finished: how many unreferenced chunks (and stored bytes) it deleted. */
  public void gcRun(boolean ok, long deletedChunks, long deletedBytes) {
    Counter.builder(GC_RUNS).tag(TAG_OUTCOME, ok ? "ok" : "error").register(registry).increment();
    Counter.builder(GC_DELETED_CHUNKS).register(registry).increment(deletedChunks);
    Counter.builder(GC_DELETED_BYTES).baseUnit("bytes").register(registry).increment(deletedBytes);
  }
}
