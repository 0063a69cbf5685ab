package dev.ephemera.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.luben.zstd.Zstd;
import dev.ephemera.api.JobApi;
import dev.ephemera.event.JobCompleted;
import dev.ephemera.event.JobInfo;
import dev.ephemera.testing.RealServices;
import dev.ephemera.testing.RunningWorker;
import dev.ephemera.testing.RunningWorker.CliRun;
import dev.ephemera.testing.TestServices;
import dev.ephemera.worker.Collector;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Quotas, eviction and chunk GC against the real PostgreSQL and S3 API: quota eviction takes the least recently used
 * sets first and stops under the quota; idle sets are evicted and their head moves back; GC deletes from the bucket
 * exactly the chunks that nothing references and nobody vouched for within the grace period, keeps chunks of live sets
 * and chunks uploaded for a persist still in flight; collectors on several replicas never run at once; an
 * {@code ephemera.gc} request runs a pass.
 */
@ExtendWith(RealServices.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CollectorIT {
  private RunningWorker worker;
  @TempDir Path tmp;

  @BeforeAll
  void start(TestServices services) throws Exception {
    worker = RunningWorker.start(services, "collector");
  }

  @AfterAll
  void stop() throws Exception {
    worker.close();
  }

  private Collector collector() {
    return worker.app().collector();
  }

  private void sql(String statement, Object... args) {
    worker.app().catalog().jdbi().useHandle(h -> h.execute(statement, args));
  }

  private void lastUsed(String setId, Duration ago) {
    sql("update sets set last_used_at = ? where set_id = ?", java.sql.Timestamp.from(Instant.now().minus(ago)), setId);
  }

  private List<String> chunksOf(String setId) {
    return worker.app().catalog().inTransaction(tx -> tx.sets().chunksOf(setId)).stream()
        .map(c -> c.chunkSha256())
        .toList();
  }

  private boolean stored(String sha) {
    return worker.app().store().exists("chunks/" + sha);
  }

  @Test
  void quotaEvictionTakesTheLeastRecentlyUsedSetsFirstAndStopsUnderTheQuota() throws Exception {
    Fixture f = new Fixture(worker, 5201, tmp);
    String a = f.capture("a", f.tree("a", 100_000, 11));
    String b = f.capture("b", f.tree("b", 100_000, 12));
    String c = f.capture("c", f.tree("c", 100_000, 13));
    lastUsed(a, Duration.ofHours(3));
    lastUsed(b, Duration.ofHours(1));
    lastUsed(c, Duration.ofHours(2));
    long sizeB = worker.app().catalog().inTransaction(tx -> tx.sets().find(b).orElseThrow().archiveSize());
    CliRun quota = f.adminApi("admin", "policy", "set", f.owner, "--quota", Long.toString(sizeB + 1000));
    assertThat(quota.exit()).as(quota.err()).isZero();

    Collector.Report report = collector().collect(f.owner, Duration.ofHours(1));
    assertThat(report.ran()).isTrue();
    assertThat(report.evictedQuota()).isEqualTo(2);
    assertThat(f.status(a)).isEqualTo("evicted");
    assertThat(f.status(c)).isEqualTo("evicted");
    assertThat(f.status(b)).isEqualTo("live");
    assertThat(f.head(Fixture.SET, "branch:a")).isNull();
    assertThat(f.head(Fixture.SET, "branch:c")).isNull();
    assertThat(f.head(Fixture.SET, "branch:b")).isEqualTo(b);

    var evictedA = f.awaitLifecycle("ephemera.evicted", "set_id", a);
    var evictedC = f.awaitLifecycle("ephemera.evicted", "set_id", c);
    assertThat(evictedA.get("reason").asText()).isEqualTo("quota");
    assertThat(evictedC.get("reason").asText()).isEqualTo("quota");
    assertThat(evictedA.get("archive_size").asLong()).isPositive();
    List<String> order = worker.outputs().all().stream()
        .map(r -> Fixture.tree(r.value()))
        .filter(n -> n.path("type").asText().equals("ephemera.evicted"))
        .map(n -> n.path("data").path("set_id").asText())
        .filter(id -> id.equals(a) || id.equals(c))
        .toList();
    assertThat(order).as("least recently used first").containsExactly(a, c);

    // under quota now: another pass evicts nothing
    assertThat(collector().collect(f.owner, Duration.ofHours(1)).evictedQuota()).isZero();
    CliRun policy = f.adminApi("admin", "policy", "get", f.owner, "--json");
    assertThat(Fixture.JSON.readTree(policy.out()).get("stored_bytes").asLong()).isEqualTo(sizeB);
  }

  @Test
  void anIdleSetIsEvictedAndItsHeadMovesBackToTheNewestValidSet() throws Exception {
    Fixture f = new Fixture(worker, 5202, tmp);
    String older = f.capture("x", f.tree("x1", 50_000, 21));
    String newer = f.capture("x", f.tree("x2", 50_000, 22));
    String fresh = f.capture("y", f.tree("y", 50_000, 23));
    assertThat(f.head(Fixture.SET, "branch:x")).isEqualTo(newer);
    lastUsed(newer, Duration.ofDays(10));
    lastUsed(older, Duration.ofDays(1));

    Collector.Report report = collector().collect(f.owner, Duration.ofHours(1));
    assertThat(report.evictedIdle()).isEqualTo(1);
    assertThat(f.status(newer)).isEqualTo("evicted");
    assertThat(f.awaitLifecycle("ephemera.evicted", "set_id", newer).get("reason").asText()).isEqualTo("idle");
    assertThat(f.head(Fixture.SET, "branch:x")).isEqualTo(older);
    assertThat(f.status(older)).isEqualTo("live");
    assertThat(f.status(fresh)).isEqualTo("live");

    // a later job gets the set the head moved back to
    JobInfo later = f.push("x");
    f.started(later);
    assertThat(f.awaitLifecycle("ephemera.staged", "job_id", later.jobId()).get("set_id").asText()).isEqualTo(older);

    // the idle limit is the owner's: 1 day makes the older one idle too (used a day ago)
    f.adminApi("admin", "policy", "set", f.owner, "--idle", "1d");
    lastUsed(older, Duration.ofDays(2));
    assertThat(collector().collect(f.owner, Duration.ofHours(1)).evictedIdle()).isEqualTo(1);
    assertThat(f.head(Fixture.SET, "branch:x")).isNull();
    assertThat(f.status(fresh)).isEqualTo("live");
  }

  @Test
  void gcDeletesOnlyOldUnreferencedChunksFromTheStoreAndKeepsReferencedAndYoungOnes() throws Exception {
    Fixture f = new Fixture(worker, 5203, tmp);
    String live = f.capture("keep", f.tree("keep", 300_000, 31));
    String gone = f.capture("gone", f.tree("gone", 300_000, 32));
    List<String> liveChunks = chunksOf(live);
    List<String> goneChunks = chunksOf(gone);
    assertThat(liveChunks).doesNotContainAnyElementsOf(goneChunks);
    lastUsed(gone, Duration.ofDays(30));

    // a persist in flight: its chunk is uploaded but no set references it yet
    JobInfo inFlight = f.push("in-flight");
    f.started(inFlight);
    String orphan = upload(inFlight.jobId(), 41);

    Collector.Report first = collector().collect(null, Duration.ofHours(1));
    assertThat(f.status(gone)).isEqualTo("evicted");
    assertThat(first.chunksDeleted()).as("everything is young: the eviction vouched for its chunks").isZero();
    assertThat(goneChunks).allMatch(this::stored);
    assertThat(stored(orphan)).isTrue();

    // an hour and more later, nobody vouched for them again
    sql("update chunks set last_seen_at = now() - interval '2 hours'");
    Collector.Report second = collector().collect(null, Duration.ofHours(1));
    assertThat(second.chunksDeleted()).isGreaterThanOrEqualTo(goneChunks.size() + 1);
    assertThat(goneChunks).noneMatch(this::stored);
    assertThat(stored(orphan)).isFalse();
    assertThat(liveChunks).as("chunks of a live set, however old").allMatch(this::stored);
    try (var s3 = worker.app().store().list("chunks/")) {
      assertThat(s3.map(k -> k.substring("chunks/".length())).toList())
          .containsAll(liveChunks)
          .doesNotContainAnyElementsOf(goneChunks)
          .doesNotContain(orphan);
    }

    // the live set still restores from the bucket
    JobInfo reader = f.push("keep");
    f.started(reader);
    CliRun restore = worker.cli(reader.jobId(), "restore", Fixture.SET, "--strict", "--json");
    assertThat(restore.exit()).as(restore.err()).isZero();

    // a deleted chunk is not "present" to a persist, and uploading it again stores it again
    assertThat(present(inFlight.jobId(), orphan)).isFalse();
    assertThat(upload(inFlight.jobId(), 41)).isEqualTo(orphan);
    assertThat(stored(orphan)).isTrue();
    assertThat(present(inFlight.jobId(), orphan)).isTrue();
    assertThat(collector().collect(null, Duration.ofHours(1)).chunksDeleted()).isZero();
  }

  @Test
  void aRestoreInFlightFinishesReadingASetEvictedUnderItWithinTheGracePeriod() throws Exception {
    Fixture f = new Fixture(worker, 5205, tmp);
    String set = f.capture("r", f.tree("r", 100_000, 61));
    JobInfo reader = f.push("r");
    f.started(reader);
    String chunk = chunksOf(set).get(0);
    assertThat(readChunk(reader.jobId(), set, chunk)).isEqualTo(200);

    lastUsed(set, Duration.ofDays(30));
    collector().collect(f.owner, Duration.ofHours(1));
    assertThat(f.status(set)).isEqualTo("evicted");
    assertThat(readChunk(reader.jobId(), set, chunk)).as("chunks of a set evicted mid-restore stay readable").isEqualTo(200);
    // but no new restore resolves it
    CliRun miss = worker.cli(reader.jobId(), "restore", Fixture.SET, "--strict");
    assertThat(miss.exit()).as(miss.err()).isEqualTo(2);

    sql("update chunks set last_seen_at = now() - interval '2 hours' where sha256 = ?", chunk);
    collector().collect(null, Duration.ofHours(1));
    assertThat(readChunk(reader.jobId(), set, chunk)).as("after the grace period the bytes are gone").isEqualTo(404);
  }

  private int readChunk(String jobId, String setId, String sha) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(worker.url().resolve("/v1/jobs/" + jobId + "/sets/" + setId + "/chunks/" + sha))
                .header("Authorization", "Bearer " + worker.jobToken(jobId))
                .build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  @Test
  void collectorsOnSeveralReplicasNeverRunAtOnce() throws Exception {
    var db = worker.settings();
    try (Connection other = DriverManager.getConnection(db.get("db.url"), db.get("db.user"), db.get("db.password"))) {
      try (ResultSet rs = other.createStatement().executeQuery("select pg_try_advisory_lock(" + Collector.LOCK_KEY + ")")) {
        rs.next();
        assertThat(rs.getBoolean(1)).isTrue();
      }
      assertThat(collector().collect(null, Duration.ofHours(1)).ran()).isFalse();
      other.createStatement().execute("select pg_advisory_unlock(" + Collector.LOCK_KEY + ")");
      assertThat(collector().collect(null, Duration.ofHours(1)).ran()).isTrue();
    }
  }

  @Test
  void anEphemeraGcRequestRunsAPassWithItsGracePeriod() throws Exception {
    Fixture f = new Fixture(worker, 5204, tmp);
    JobInfo job = f.push("gc");
    f.started(job);
    String orphan = upload(job.jobId(), 51);
    assertThat(stored(orphan)).isTrue();
    CliRun gc = f.adminKafka("admin", "gc", "--grace", "0s");
    assertThat(gc.exit()).as(gc.err()).isZero();
    assertThat(gc.out()).contains("published ephemera.gc");
    Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> !stored(orphan));
  }

  @Test
  void presentTrustsOnlyChunksWithALiveRowThatTheStoreHas() throws Exception {
    Fixture f = new Fixture(worker, 5206, tmp);
    JobInfo job = f.push("present");
    f.started(job);
    String uploaded = upload(job.jobId(), 61);
    assertThat(present(job.jobId(), uploaded)).isTrue();

    // the bytes gone behind the catalog's back (a bucket rule, an operator): the store has the last word
    worker.app().store().delete("chunks/" + uploaded);
    assertThat(present(job.jobId(), uploaded)).isFalse();
    assertThat(upload(job.jobId(), 61)).isEqualTo(uploaded);
    assertThat(present(job.jobId(), uploaded)).isTrue();

    // an object the catalog never heard of is not vouched for: the persist uploads it again, which is harmless
    byte[] raw = new byte[64 * 1024];
    new Random(62).nextBytes(raw);
    String stray = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(raw));
    worker.app().store().put("chunks/" + stray, Zstd.compress(raw));
    assertThat(present(job.jobId(), stray)).isFalse();
    assertThat(upload(job.jobId(), 62)).isEqualTo(stray);
    assertThat(present(job.jobId(), stray)).isTrue();
  }

  @Test
  void theStoredManifestsOfEvictedAndDiscardedSetsAreDeletedAndThoseOfLiveSetsKept() throws Exception {
    Fixture f = new Fixture(worker, 5207, tmp);
    String evicted = f.capture("m", f.tree("m1", 20_000, 71));
    String live = f.capture("m", f.tree("m2", 20_000, 72));
    JobInfo failing = f.push("m");
    f.started(failing);
    String discarded = f.persist(failing, f.tree("m3", 20_000, 73)).get("set_id").asText();
    f.completed(failing, JobCompleted.Result.FAILURE);
    f.awaitLifecycle("ephemera.discarded", "set_id", discarded);
    lastUsed(evicted, Duration.ofDays(30));
    for (String set : List.of(evicted, live, discarded)) {
      assertThat(worker.app().store().exists(JobApi.manifestKey(set))).as(set).isTrue();
    }

    Collector.Report report = collector().collect(f.owner, Duration.ofHours(1));
    assertThat(f.status(evicted)).isEqualTo("evicted");
    assertThat(report.manifestsDeleted()).isGreaterThanOrEqualTo(2);
    assertThat(worker.app().store().exists(JobApi.manifestKey(evicted))).isFalse();
    assertThat(worker.app().store().exists(JobApi.manifestKey(discarded))).isFalse();
    assertThat(worker.app().store().exists(JobApi.manifestKey(live))).isTrue();
    // Postgres keeps the manifest of a dead set, and a later pass has nothing left to delete for these sets
    assertThat(worker.app().catalog().inTransaction(tx -> tx.sets().find(evicted)).orElseThrow().manifestJson())
        .contains("chunks");
    List<String> stillStored =
        worker.app().catalog().inTransaction((dev.ephemera.catalog.CatalogTx tx) -> tx.sets().lockDeadManifests(10_000));
    assertThat(stillStored).doesNotContain(evicted, discarded);
  }

  /** Uploads one chunk of random bytes as the job, as a persist does; returns its sha256. */
  private String upload(String jobId, long seed) throws Exception {
    byte[] raw = new byte[64 * 1024];
    new Random(seed).nextBytes(raw);
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(raw));
    HttpResponse<String> answer =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(worker.url().resolve("/v1/jobs/" + jobId + "/chunks/" + sha))
                    .header("Authorization", "Bearer " + worker.jobToken(jobId))
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(Zstd.compress(raw)))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(answer.statusCode()).as(answer.body()).isIn(200, 201);
    return sha;
  }

  private boolean present(String jobId, String sha) throws Exception {
    HttpResponse<String> answer =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(worker.url().resolve("/v1/jobs/" + jobId + "/chunks/present"))
                    .header("Authorization", "Bearer " + worker.jobToken(jobId))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"sha256\":[\"" + sha + "\"]}"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    return Fixture.JSON.readTree(answer.body()).path("present").has(sha);
  }
}
