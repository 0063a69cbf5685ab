package dev.ephemera.metrics;

import dev.ephemera.catalog.Catalog;
import dev.ephemera.catalog.OwnerPolicyRow;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gauges of what the catalog holds — bytes per owner against its quota, sets by status, chunks — computed by a few
 * aggregate queries every {@code metrics.catalog-interval}, never per scrape (a scrape reads the last snapshot, so
 * Prometheus replicas and dashboards cannot turn into a query storm).
 *
 * <p>Per-owner series are bounded: the {@code topOwners} owners storing the most get their own {@code owner} tag; the
 * rest are summed under {@code owner="other"} (which has no quota series: a sum of quotas means nothing).
 */
public final class CatalogGauges implements AutoCloseable {
  private static final Logger LOGGER = LoggerFactory.getLogger(CatalogGauges.class);
  private static final List<String> STATUSES =
      List.of("pending", "live", "superseded", "invalidated", "evicted", "discarded");
  /** Statuses whose bytes count against the owner's quota: the set may still be read or become readable. */
  private static final String RETAINED = "('pending', 'live', 'superseded')";

  private final Catalog catalog;
  private final int topOwners;
  private final Clock clock;
  private final Rows ownerStored;
  private final Rows ownerQuota;
  private final Rows sets;
  private final Rows setBytes;
  private final Rows chunkBytes;
  private final ScheduledExecutorService scheduler;
  private volatile long chunks;
  private volatile Instant refreshedAt;

  /** Refreshes once now (so a fresh worker has figures) and then every {@code interval}. */
  public static CatalogGauges start(Catalog catalog, Meters meters, Duration interval, int topOwners, Clock clock) {
    CatalogGauges gauges = new CatalogGauges(catalog, meters, topOwners, clock);
    gauges.refresh();
    gauges.scheduler.scheduleWithFixedDelay(
        gauges::refresh, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    return gauges;
  }

  private CatalogGauges(Catalog catalog, Meters meters, int topOwners, Clock clock) {
    this.catalog = catalog;
    this.topOwners = topOwners;
    this.clock = clock;
    this.refreshedAt = clock.instant();
    var registry = meters.registry();
    ownerStored =
        rows(registry, Meters.OWNER_STORED_BYTES, "bytes", Meters.TAG_OWNER,
            "compressed bytes of an owner's retained sets (pending, live, superseded): what its quota counts");
    ownerQuota =
        rows(registry, Meters.OWNER_QUOTA_BYTES, "bytes", Meters.TAG_OWNER,
            "the owner's stored-bytes quota (policy or default)");
    sets = rows(registry, Meters.CATALOG_SETS, null, Meters.TAG_STATUS, "sets in the catalog by status");
    setBytes =
        rows(registry, Meters.CATALOG_SET_BYTES, "bytes", Meters.TAG_SIZE,
            "bytes of retained sets: tar (what jobs get) and archive (compressed, before deduplication)");
    chunkBytes =
        rows(registry, Meters.CATALOG_CHUNK_BYTES, "bytes", Meters.TAG_SIZE,
            "bytes of the distinct chunks the catalog knows: raw and stored (compressed, deduplicated)");
    Gauge.builder(Meters.CATALOG_CHUNKS, this, g -> g.chunks)
        .description("distinct chunks the catalog knows")
        .register(registry);
    Gauge.builder(
            Meters.CATALOG_REFRESH_AGE,
            this,
            g -> Duration.between(g.refreshedAt, g.clock.instant()).toMillis() / 1000.0)
        .baseUnit("seconds")
        .description("age of the catalog gauges' last successful refresh")
        .register(registry);
    scheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "ephemera-catalog-gauges");
              t.setDaemon(true);
              return t;
            });
  }

  private record OwnerBytes(String owner, long bytes, long quota) {}

  /** Runs the aggregate queries and replaces every gauge's rows; a failure keeps the last figures (and their age). */
  void refresh() {
    try {
      catalog
          .jdbi()
          .useHandle(
              h -> {
                List<OwnerBytes> owners =
                    h.createQuery(
                            """
                            select s.owner, sum(s.archive_size) as bytes,
                                   coalesce(min(p.quota_bytes), :default_quota) as quota
                            from sets s left join owner_policies p on p.owner = s.owner
                            where s.status in %s
                            group by s.owner order by bytes desc, s.owner
                            """
                                .formatted(RETAINED))
                        .bind("default_quota", OwnerPolicyRow.DEFAULT_QUOTA_BYTES)
                        .map((rs, ctx) -> new OwnerBytes(rs.getString(1), rs.getLong(2), rs.getLong(3)))
                        .list();
                Map<String, Long> stored = new LinkedHashMap<>();
                Map<String, Long> quota = new LinkedHashMap<>();
                long other = 0;
                for (int i = 0; i < owners.size(); i++) {
                  OwnerBytes o = owners.get(i);
                  if (i < topOwners) {
                    stored.put(o.owner(), o.bytes());
                    quota.put(o.owner(), o.quota());
                  } else {
                    other += o.bytes();
                  }
                }
                stored.put(Meters.OTHER_OWNERS, other);
                ownerStored.set(stored);
                ownerQuota.set(quota);

                Map<String, Long> byStatus = new LinkedHashMap<>();
                STATUSES.forEach(s -> byStatus.put(s, 0L));
                h.createQuery("select status, count(*) from sets group by status")
                    .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getLong(2)))
                    .forEach(e -> byStatus.put(e.getKey(), e.getValue()));
                sets.set(byStatus);

                long[] setSizes =
                    h.createQuery(
                            "select coalesce(sum(tar_size), 0), coalesce(sum(archive_size), 0) from sets where status in "
                                + RETAINED)
                        .map((rs, ctx) -> new long[] {rs.getLong(1), rs.getLong(2)})
                        .one();
                setBytes.set(Map.of("tar", setSizes[0], "archive", setSizes[1]));

                long[] chunkSizes =
                    h.createQuery(
                            "select count(*), coalesce(sum(raw_size), 0), coalesce(sum(stored_size), 0) from chunks")
                        .map((rs, ctx) -> new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3)})
                        .one();
                chunks = chunkSizes[0];
                chunkBytes.set(Map.of("raw", chunkSizes[1], "stored", chunkSizes[2]));
              });
      refreshedAt = clock.instant();
    } catch (RuntimeException e) {
      LOGGER.atWarn().setCause(e).log("refreshing the catalog gauges failed; keeping the last figures");
    }
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
  }

  /** A multi-gauge {@code name} (in {@code unit}, or none) with one row per value of {@code tag}. */
  private static Rows rows(
      io.micrometer.core.instrument.MeterRegistry registry, String name, String unit, String tag, String description) {
    return new Rows(MultiGauge.builder(name).baseUnit(unit).description(description).register(registry), tag);
  }

  /**
   * One multi-gauge's rows, each reading a figure a refresh sets in place. {@code MultiGauge}'s overwrite removes each
   * row's meter and registers it again, and a scrape in between saw no series of that family (GrafanaQueriesIT once
   * found {@code ephemera_owner_quota_bytes} missing from a scrape after real traffic): here a refresh only adds the
   * rows of tag values that are new and removes those that are gone. Used by the refreshing thread only.
   */
  static final class Rows {
    private final MultiGauge gauge;
    private final String tag;
    private final Map<String, AtomicLong> figures = new HashMap<>();

    Rows(MultiGauge gauge, String tag) {
      this.gauge = gauge;
      this.tag = tag;
    }

    /** The rows are now exactly {@code latest}: tag value to figure. */
    void set(Map<String, Long> latest) {
      List<MultiGauge.Row<?>> rows = new ArrayList<>(latest.size());
      latest.forEach(
          (value, figure) -> {
            AtomicLong holder = figures.computeIfAbsent(value, v -> new AtomicLong());
            holder.set(figure);
            rows.add(MultiGauge.Row.of(Tags.of(tag, value), holder, AtomicLong::doubleValue));
          });
      figures.keySet().retainAll(latest.keySet());
      gauge.register(rows, false);
    }
  }
}
