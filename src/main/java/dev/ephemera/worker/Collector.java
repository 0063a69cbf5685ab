package dev.ephemera.worker;

import dev.ephemera.catalog.Catalog;
import dev.ephemera.catalog.EvictionDao;
import dev.ephemera.catalog.OwnerPolicyRow;
import dev.ephemera.catalog.SetRow;
import dev.ephemera.event.Evicted;
import dev.ephemera.event.Gc;
import dev.ephemera.metrics.Meters;
import dev.ephemera.store.ObjectStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Quotas, eviction and chunk garbage collection. One pass ({@link #collect}):
 *
 * <ol>
 *   <li><b>Idle eviction</b>: per owner, every live or superseded set not used for longer than the owner's idle limit.
 *   <li><b>Quota eviction</b>: per owner, while its stored bytes (see {@link EvictionDao}) exceed its quota, the least
 *       recently used live or superseded set. Each eviction is one transaction that also moves the head back (or
 *       removes it) and writes {@code ephemera.evicted} to the outbox.
 *   <li><b>Chunk GC</b>: chunks no pending, live or superseded set references and nobody vouched for (upload,
 *       "present" answer, eviction of a set using them) within the grace period are deleted from the store, then marked
 *       deleted in the catalog, in one transaction holding their rows, so an upload of the same chunk waits and stores
 *       it again. A persist or a restore that takes less than the grace period never loses a chunk it needs.
 *   <li><b>Manifest GC</b>: the stored manifest object ({@code manifests/<set_id>.json}) of every invalidated, evicted or
 *       discarded set is deleted (Postgres keeps the manifest; the object would list chunks GC may have deleted).
 * </ol>
 *
 * <p>Replicas may all run it: a pass runs only where it wins a Postgres advisory lock, the others skip it. It runs on
 * the App's schedule ({@code gc.interval}) and when an {@code ephemera.gc} request was committed ({@link #request}).
 */
public final class Collector implements Runnable {
  private static final Logger LOGGER = LoggerFactory.getLogger(Collector.class);
  /** The advisory lock key of the collector ("ephemGC!" as a number). */
  public static final long LOCK_KEY = 0x657068656d474321L;
  private static final int BATCH = 200;

  private final Catalog catalog;
  private final ObjectStore store;
  private final ControlHandler.Emitter emitter;
  private final Clock clock;
  private final Meters meters;
  private final Duration grace;
  private final Duration interval;
  private final LinkedBlockingQueue<Gc> requests = new LinkedBlockingQueue<>();
  private final AtomicBoolean running = new AtomicBoolean(true);
  private volatile Thread thread;

  /** What one pass did. */
  public record Report(boolean ran, int evictedIdle, int evictedQuota, int chunksDeleted, long bytesDeleted,
      int chunksAdopted, int manifestsDeleted) {
    static Report skipped() {
      return new Report(false, 0, 0, 0, 0, 0, 0);
    }
  }

  public Collector(Catalog catalog, ObjectStore store, ControlHandler.Emitter emitter, Clock clock, Meters meters,
      Duration grace, Duration interval) {
    this.catalog = catalog;
    this.store = store;
    this.emitter = emitter;
    this.clock = clock;
    this.meters = meters;
    this.grace = grace;
    this.interval = interval;
  }

  /** Asks for a pass soon (called after the transaction that applied an {@code ephemera.gc} committed). */
  public void request(Gc gc) {
    requests.add(gc);
  }

  /** The schedule: a pass every {@code interval}, and one per request in between. */
  @Override
  public void run() {
    thread = Thread.currentThread();
    while (running.get()) {
      Gc request;
      try {
        request = requests.poll(interval.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        break;
      }
      if (!running.get()) {
        break;
      }
      try {
        if (request == null) {
          collect(null, grace);
        } else {
          collect(request.owner(), request.graceSeconds() == null ? grace : Duration.ofSeconds(request.graceSeconds()));
        }
      } catch (RuntimeException e) {
        // The catalog or the store is away: the next pass tries again; nothing half-done is left (one tx per step).
        LOGGER.atWarn().setCause(e).log("collector pass failed; retrying on the next schedule");
      }
    }
  }

  public void stop() {
    running.set(false);
    Thread t = thread;
    if (t != null) {
      t.interrupt();
    }
  }

  /**
   * One pass, if no other collector is running one.
   *
   * @param owner      only this owner's sets are evicted; null for every owner (chunk GC is always global)
   * @param graceNow   chunks seen within this long are kept
   */
  public Report collect(String owner, Duration graceNow) {
    return catalog.jdbi().withHandle(handle -> {
      EvictionDao lock = handle.attach(EvictionDao.class);
      if (!lock.tryLock(LOCK_KEY)) {
        LOGGER.atInfo().log("another collector is running; skipping this pass");
        return Report.skipped();
      }
      try {
        int idle = 0;
        int quota = 0;
        List<String> owners = owner != null ? List.of(owner) : catalog.inTransaction(tx -> tx.evictions().owners());
        for (String o : owners) {
          idle += evictIdle(o);
          quota += evictOverQuota(o);
        }
        int adopted = adoptOrphans();
        long[] deleted = deleteUnreferencedChunks(graceNow);
        int manifests = deleteDeadManifests();
        Report report = new Report(true, idle, quota, (int) deleted[0], deleted[1], adopted, manifests);
        LOGGER.atInfo()
            .addKeyValue("evicted_idle", idle)
            .addKeyValue("evicted_quota", quota)
            .addKeyValue("chunks_deleted", deleted[0])
            .addKeyValue("bytes_deleted", deleted[1])
            .addKeyValue("chunks_adopted", adopted)
            .addKeyValue("manifests_deleted", manifests)
            .log("collector pass done");
        return report;
      } finally {
        lock.unlock(LOCK_KEY);
      }
    });
  }

  private int evictIdle(String owner) {
    int count = 0;
    while (true) {
      int evictedNow = catalog.inTransaction(tx -> {
        OwnerPolicyRow policy = tx.policies().get(owner);
        Instant cutoff = clock.instant().minus(Duration.ofDays(policy.idleDays()));
        int n = 0;
        for (SetRow set : tx.evictions().idle(owner, cutoff, BATCH)) {
          if (evict(tx, set, Evicted.Reason.IDLE, "unused for more than " + policy.idleDays() + " days")) {
            n++;
          }
        }
        return n;
      });
      count += evictedNow;
      if (evictedNow < BATCH) {
        return count;
      }
    }
  }

  private int evictOverQuota(String owner) {
    int count = 0;
    while (true) {
      Optional<Boolean> step = catalog.inTransaction(tx -> {
        OwnerPolicyRow policy = tx.policies().get(owner);
        long stored = tx.evictions().storedBytes(owner);
        if (stored <= policy.quotaBytes()) {
          return Optional.<Boolean>empty();
        }
        List<SetRow> lru = tx.evictions().leastRecentlyUsed(owner, 1);
        if (lru.isEmpty()) {
          return Optional.<Boolean>empty(); // only pending sets left: their jobs are running
        }
        return Optional.of(evict(tx, lru.get(0), Evicted.Reason.QUOTA,
            "owner stores " + stored + " bytes, quota " + policy.quotaBytes()));
      });
      if (step.isEmpty()) {
        return count;
      }
      if (step.get()) {
        count++;
      }
    }
  }

  private boolean evict(dev.ephemera.catalog.CatalogTx tx, SetRow set, Evicted.Reason reason, String why) {
    Optional<EvictionDao.Eviction> done = tx.evictions().evict(set.setId(), why, clock.instant());
    if (done.isEmpty()) {
      return false;
    }
    emitter.emit(tx, new Evicted(set.owner(), set.name(), set.setId(), set.scope(), reason, set.archiveSize()));
    meters.evicted(reason == Evicted.Reason.QUOTA ? "quota" : "idle", set.archiveSize());
    LOGGER.atInfo()
        .addKeyValue("owner", set.owner())
        .addKeyValue("set", set.setId())
        .addKeyValue("reason", why)
        .addKeyValue("head_now", done.get().headNow())
        .log("evicted set");
    return true;
  }

  /**
   * Objects under {@code chunks/} without any catalog row (stored before chunk rows were recorded, or by a crash
   * between a put and its row) get a row now, so they are collected one grace period later if nothing uses them.
   */
  private int adoptOrphans() {
    int adopted = 0;
    Instant now = clock.instant();
    try (Stream<String> keys = store.list("chunks/")) {
      List<String> batch = new ArrayList<>();
      for (String key : (Iterable<String>) keys::iterator) {
        batch.add(key.substring("chunks/".length()));
        if (batch.size() == 1000) {
          adopted += adopt(batch, now);
          batch.clear();
        }
      }
      adopted += adopt(batch, now);
    }
    return adopted;
  }

  private int adopt(List<String> shas, Instant now) {
    if (shas.isEmpty()) {
      return 0;
    }
    return catalog.inTransaction(tx -> {
      int n = 0;
      for (String sha : tx.chunks().unknown(shas.toArray(String[]::new))) {
        n += tx.chunks().adopt(sha, store.size("chunks/" + sha).orElse(0), now);
      }
      return n;
    });
  }

  /** @return {chunks deleted, stored bytes deleted} */
  private long[] deleteUnreferencedChunks(Duration graceNow) {
    try {
      long[] done = sweepChunks(graceNow);
      meters.gcRun(true, done[0], done[1]);
      return done;
    } catch (RuntimeException e) {
      meters.gcRun(false, 0, 0);
      throw e;
    }
  }

  private long[] sweepChunks(Duration graceNow) {
    long chunks = 0;
    long bytes = 0;
    while (true) {
      Instant cutoff = clock.instant().minus(graceNow);
      long[] step = catalog.inTransaction(tx -> {
        List<String> victims = tx.chunks().lockCollectable(cutoff, BATCH);
        long size = 0;
        for (String sha : victims) {
          String key = "chunks/" + sha;
          size += store.size(key).orElse(0);
          store.delete(key);
        }
        tx.chunks().markDeleted(victims.toArray(String[]::new), clock.instant());
        return new long[] {victims.size(), size};
      });
      chunks += step[0];
      bytes += step[1];
      if (step[0] < BATCH) {
        return new long[] {chunks, bytes};
      }
    }
  }

  /** Deletes the manifest objects of dead sets, a batch per transaction holding their rows; returns how many. */
  private int deleteDeadManifests() {
    int count = 0;
    while (true) {
      int n = catalog.inTransaction(tx -> {
        List<String> dead = tx.sets().lockDeadManifests(BATCH);
        for (String setId : dead) {
          store.delete(dev.ephemera.api.JobApi.manifestKey(setId));
        }
        tx.sets().markManifestsDeleted(dead.toArray(String[]::new), clock.instant());
        return dead.size();
      });
      count += n;
      if (n < BATCH) {
        return count;
      }
    }
  }
}
