package dev.ephemera.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.luben.zstd.Zstd;
import dev.ephemera.archive.HandTar;
import dev.ephemera.archive.Manifest;
import dev.ephemera.catalog.Catalog;
import dev.ephemera.catalog.JobDao;
import dev.ephemera.catalog.RegistrationDao;
import dev.ephemera.catalog.RegistrationRow;
import dev.ephemera.catalog.SetDao;
import dev.ephemera.catalog.SetRow;
import dev.ephemera.catalog.SetStatus;
import dev.ephemera.event.EventCodec;
import dev.ephemera.event.Repo;
import dev.ephemera.testing.RandomTree;
import dev.ephemera.testing.RealServices;
import dev.ephemera.testing.RunningWorker;
import dev.ephemera.testing.RunningWorker.CliRun;
import dev.ephemera.testing.TestServices;
import dev.ephemera.worker.Faults;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A persist does not wait for the worker to read its chunks back: it is answered once every chunk is stored, and the
 * worker verifies the set in the background. Against the real worker, Kafka, PostgreSQL and S3 API: the set is not a
 * set until verified, its job's completion waits for the verification, the hashes it is captured with are the
 * worker's, a manifest the chunks do not make is discarded with a reason, and a worker stopped before verifying
 * leaves the registration to the next one.
 */
@ExtendWith(RealServices.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VerifyLaterIT {
  private static final ObjectMapper JSON = EventCodec.newMapper();
  private static final Repo REPO = new Repo("oxidecomputer", "crucible", 4646);

  /** Holds every background verification at {@link Faults#BEFORE_VERIFY} while shut. */
  private static final class Gate implements Faults {
    private volatile CountDownLatch open = new CountDownLatch(0);
    final AtomicInteger reached = new AtomicInteger();

    void shut() {
      open = new CountDownLatch(1);
    }

    void open() {
      open.countDown();
    }

    @Override
    public void at(String point) {
      if (!point.equals(BEFORE_VERIFY)) {
        return;
      }
      reached.incrementAndGet();
      try {
        open.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("stopped at " + point, e);
      }
    }
  }

  private final Gate gate = new Gate();
  private final HttpClient http = HttpClient.newHttpClient();
  private RunningWorker worker;
  @TempDir Path tmp;

  private TestServices services;

  @BeforeAll
  void start(TestServices services) throws Exception {
    this.services = services;
    worker = RunningWorker.start(RunningWorker.settingsFor(services, "verify-later"), gate);
  }

  @AfterEach
  void openGate() {
    gate.open();
  }

  @AfterAll
  void stop() throws Exception {
    worker.close();
  }

  private Path tree(String name, long seed) throws Exception {
    return RandomTree.write(tmp.resolve(name), seed, 8, 200_000, 400_000, i -> "d" + (i % 2) + "/f" + i);
  }

  private JsonNode persist(String job, String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of("persist"));
    all.addAll(List.of(args));
    all.add("--json");
    CliRun run = worker.cli(job, all.toArray(String[]::new));
    assertThat(run.exit()).as(run.err()).isZero();
    return JSON.readTree(run.out());
  }

  private Optional<SetRow> set(String setId) {
    return worker.app().catalog().jdbi().withExtension(SetDao.class, d -> d.find(setId));
  }

  private boolean registered(String setId) {
    return worker.app().catalog().jdbi().withExtension(RegistrationDao.class, d -> d.find(setId)).isPresent();
  }

  private JsonNode awaitEvent(String type, String setId) {
    return worker.outputs().awaitEventData(type, "set_id", setId);
  }

  private HttpResponse<String> post(String job, String path, Object body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(worker.url().resolve(path))
            .header("Authorization", "Bearer " + worker.jobToken(job))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private ObjectNode manifest(String job, String setId) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(worker.url().resolve("/v1/jobs/" + job + "/sets/" + setId + "/manifest"))
                .header("Authorization", "Bearer " + worker.jobToken(job))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return (ObjectNode) JSON.readTree(r.body());
  }

  @Test
  void thePersistIsAnsweredBeforeTheVerificationAndTheCompletionWaitsForIt() throws Exception {
    Path tree = tree("answered", 1);
    String job = worker.startedPushJob(REPO);
    gate.shut();
    JsonNode early = persist(job, "deps", tree.toString());
    assertThat(early.get("status").asText()).isEqualTo("verifying");
    assertThat(early.has("tar_sha256")).isFalse();
    assertThat(early.get("archive_size").asLong()).isPositive();
    String setId = early.get("set_id").asText();
    // not a set yet: only a registration, which nothing reads as a set
    assertThat(set(setId)).isEmpty();
    assertThat(registered(setId)).isTrue();
    JsonNode waited = persist(job, "deps-waited", tree.toString(), "--wait");
    assertThat(waited.get("status").asText()).isEqualTo("pending");

    worker.completedPushJob(job, REPO);
    // the completion is not applied while the job's registration is being verified
    await()
        .during(Duration.ofMillis(1500))
        .atMost(Duration.ofSeconds(5))
        .until(() -> worker.app().catalog().jdbi().withExtension(JobDao.class, d -> d.find(job))
            .map(j -> j.completedAt() == null).orElse(true));
    assertThat(set(setId)).isEmpty();
    gate.open();

    JsonNode captured = awaitEvent("ephemera.captured", setId);
    assertThat(captured.get("tar_sha256").asText()).isEqualTo(waited.get("tar_sha256").asText());
    SetRow live = set(setId).orElseThrow();
    assertThat(live.status()).isEqualTo(SetStatus.LIVE);
    assertThat(live.archiveSha256()).isEqualTo(waited.get("archive_sha256").asText());
    assertThat(live.archiveSize()).isEqualTo(early.get("archive_size").asLong());
    assertThat(registered(setId)).isFalse();
  }

  @Test
  void aRegistrationTheStoredChunksDoNotMakeIsDiscardedWithAReasonAndAMissingChunkIsRefusedAtOnce() throws Exception {
    Path tree = tree("lies", 2);
    String job = worker.startedPushJob(REPO);
    JsonNode honest = persist(job, "honest", tree.toString(), "--wait");
    ObjectNode manifest = manifest(job, honest.get("set_id").asText());

    ObjectNode wrongDigest = manifest.deepCopy();
    wrongDigest.put("tar_sha256", "0".repeat(64));
    wrongDigest.remove("archive_sha256");
    HttpResponse<String> accepted =
        post(job, "/v1/jobs/" + job + "/sets",
            Map.of("name", "lying", "manifest", wrongDigest, "wait_for_verification", false));
    assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
    String lyingId = JSON.readTree(accepted.body()).get("set_id").asText();

    ObjectNode unstored = manifest.deepCopy();
    ((ObjectNode) unstored.withArray("chunks").get(0)).put("sha256", "e".repeat(64));
    HttpResponse<String> refused =
        post(job, "/v1/jobs/" + job + "/sets",
            Map.of("name", "unstored", "manifest", unstored, "wait_for_verification", false));
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(422);
    assertThat(refused.body()).contains("missing_chunk").contains("e".repeat(64));

    JsonNode discarded = awaitEvent("ephemera.discarded", lyingId);
    assertThat(discarded.get("reason").asText()).isEqualTo("digest_mismatch");
    assertThat(discarded.get("name").asText()).isEqualTo("lying");
    assertThat(set(lyingId)).isEmpty();
    assertThat(registered(lyingId)).isFalse();
    assertThat(verifications("digest_mismatch")).isPositive();

    worker.completedPushJob(job, REPO);
    awaitEvent("ephemera.captured", honest.get("set_id").asText());
  }

  private double verifications(String outcome) throws Exception {
    String metrics =
        http.send(HttpRequest.newBuilder(worker.url().resolve("/metrics")).build(), HttpResponse.BodyHandlers.ofString())
            .body();
    return metrics.lines()
        .filter(l -> l.startsWith("ephemera_set_verify_seconds_count{") && l.contains("outcome=\"" + outcome + "\""))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .sum();
  }

  private Map<String, Object> registration(String name, JsonNode manifest, boolean wait) {
    return Map.of("name", name, "manifest", manifest, "wait_for_verification", wait);
  }

  @Test
  void aFileListTheStreamDoesNotHoldIsDiscardedAndTheManifestKeptIsTheWorkersListing() throws Exception {
    Path tree = tree("files", 4);
    String job = worker.startedPushJob(REPO);
    JsonNode honest = persist(job, "honest", tree.toString(), "--wait");
    ObjectNode manifest = manifest(job, honest.get("set_id").asText());
    // what the worker kept is what it listed from the stream: every file of the tree, with its sha256
    JsonNode files = manifest.get("files");
    for (JsonNode f : files) {
      if (f.get("type").asText().equals("file")) {
        assertThat(f.get("sha256").asText()).isEqualTo(dev.ephemera.archive.Sha256.of(
            java.nio.file.Files.readAllBytes(tree.resolve(f.get("path").asText()))));
      }
    }

    ObjectNode forged = manifest.deepCopy();
    forged.remove("tar_sha256");
    forged.remove("archive_sha256");
    ObjectNode firstFile = null;
    for (JsonNode f : forged.withArray("files")) {
      if (f.get("type").asText().equals("file")) {
        firstFile = (ObjectNode) f;
        break;
      }
    }
    String forgedPath = firstFile.get("path").asText();
    firstFile.put("sha256", "c".repeat(64));
    double before = verifications("digest_mismatch");
    HttpResponse<String> accepted = post(job, "/v1/jobs/" + job + "/sets", registration("forged", forged, false));
    assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
    String forgedId = JSON.readTree(accepted.body()).get("set_id").asText();
    assertThat(awaitEvent("ephemera.discarded", forgedId).get("reason").asText()).isEqualTo("digest_mismatch");
    assertThat(set(forgedId)).isEmpty();
    assertThat(verifications("digest_mismatch")).isEqualTo(before + 1);

    // waiting, the persist hears why
    HttpResponse<String> refused = post(job, "/v1/jobs/" + job + "/sets", registration("forged-waited", forged, true));
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(422);
    assertThat(refused.body()).contains("manifest_mismatch").contains(forgedPath).contains("c".repeat(64));

    // an entry left out is refused the same way
    ObjectNode shorter = manifest.deepCopy();
    shorter.remove("tar_sha256");
    shorter.withArray("files").remove(shorter.withArray("files").size() - 1);
    HttpResponse<String> missing = post(job, "/v1/jobs/" + job + "/sets", registration("shorter", shorter, true));
    assertThat(missing.statusCode()).as(missing.body()).isEqualTo(422);
    assertThat(missing.body()).contains("manifest_mismatch");

    // without its entries (as the CLI registers) a manifest leaves them to the worker, but its count must agree
    ObjectNode miscounted = manifest.deepCopy();
    miscounted.remove("tar_sha256");
    miscounted.remove("files");
    miscounted.put("file_count", manifest.get("file_count").asLong() + 1);
    HttpResponse<String> miscount = post(job, "/v1/jobs/" + job + "/sets", registration("miscounted", miscounted, true));
    assertThat(miscount.statusCode()).as(miscount.body()).isEqualTo(422);
    assertThat(miscount.body())
        .contains("manifest_mismatch")
        .contains("the manifest counts " + (manifest.get("file_count").asLong() + 1));

    worker.completedPushJob(job, REPO);
    awaitEvent("ephemera.captured", honest.get("set_id").asText());
  }

  @Test
  void aStreamEveryRestoreWouldRefuseIsDiscardedAsUnsafeBeforeAnyJobCanRestoreIt() throws Exception {
    String job = worker.startedPushJob(REPO);
    worker.awaitKnown(job); // the CLI retries until then; this test calls the API
    byte[] tar = new HandTar().file("ok", "fine").symlink("etc", "/etc").file("../escape", "x").end().bytes();
    String sha = dev.ephemera.archive.Sha256.of(tar);
    byte[] frame = Zstd.compress(tar, 3);
    HttpResponse<String> put =
        http.send(
            HttpRequest.newBuilder(worker.url().resolve("/v1/jobs/" + job + "/chunks/" + sha))
                .header("Authorization", "Bearer " + worker.jobToken(job))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(frame))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
    Manifest hostile =
        new Manifest(Manifest.VERSION, tmp.resolve("hostile").toString(),
            List.of(new Manifest.Chunk(sha, tar.length, frame.length)), List.of(), null, tar.length, null,
            frame.length, 0, List.of());
    JsonNode body = JSON.readTree(hostile.toJson());
    double before = verifications("unsafe_archive");

    HttpResponse<String> accepted = post(job, "/v1/jobs/" + job + "/sets", registration("hostile", body, false));
    assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
    String hostileId = JSON.readTree(accepted.body()).get("set_id").asText();
    assertThat(awaitEvent("ephemera.discarded", hostileId).get("reason").asText()).isEqualTo("unsafe_archive");
    assertThat(set(hostileId)).isEmpty();
    assertThat(registered(hostileId)).isFalse();
    assertThat(verifications("unsafe_archive")).isEqualTo(before + 1);

    HttpResponse<String> refused = post(job, "/v1/jobs/" + job + "/sets", registration("hostile-waited", body, true));
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(422);
    assertThat(refused.body()).contains("unsafe_archive").contains("'etc'").contains("/etc");
    worker.completedPushJob(job, REPO);
    CliRun restore = worker.cli(worker.startedPushJob(REPO), "restore", "hostile", "--strict");
    assertThat(restore.exit()).as("nothing to restore: %s", restore.err()).isEqualTo(2);
  }

  @Test
  void aPersistBeyondTheWorkersArchiveLimitsIsRefusedAsARestoreWithThoseLimitsWouldRefuseIt() throws Exception {
    Map<String, String> settings = new java.util.HashMap<>(RunningWorker.settingsFor(services, "verify-limits"));
    settings.put("archive.max-entries", "5");
    try (RunningWorker limited = RunningWorker.start(settings, gate)) {
      Path tree = tree("limited", 5); // 8 files in 2 directories: 10 entries
      String job = limited.startedPushJob(REPO);
      CliRun waited = limited.cli(job, "persist", "deps", tree.toString(), "--wait", "--strict");
      assertThat(waited.exit()).as(waited.err()).isEqualTo(3);
      assertThat(waited.err())
          .contains("not kept: the stored stream is one a restore refuses")
          .contains("more entries than the limit (limit 5)");

      CliRun early = limited.cli(job, "persist", "deps-early", tree.toString(), "--json");
      assertThat(early.exit()).as(early.err()).isZero();
      String setId = JSON.readTree(early.out()).get("set_id").asText();
      JsonNode discarded = limited.outputs().awaitEventData("ephemera.discarded", "set_id", setId);
      assertThat(discarded.get("reason").asText()).isEqualTo("unsafe_archive");
    }
  }

  @Test
  void aWorkerStoppedBeforeVerifyingLeavesTheRegistrationToTheNextOne() throws Exception {
    Path tree = tree("restart", 3);
    String job = worker.startedPushJob(REPO);
    gate.shut();
    int reached = gate.reached.get();
    JsonNode early = persist(job, "deps", tree.toString());
    String setId = early.get("set_id").asText();
    await().atMost(Duration.ofSeconds(30)).until(() -> gate.reached.get() > reached);
    Map<String, String> settings = worker.settings();
    worker.close(); // interrupts the verification held at the gate: the row stays
    gate.open();
    try (Catalog catalog = Catalog.open(settings.get("db.url"), settings.get("db.user"), settings.get("db.password"))) {
      Optional<RegistrationRow> left =
          catalog.jdbi().withExtension(RegistrationDao.class, d -> d.find(setId));
      assertThat(left).as("the registration the stopped worker left").isPresent();
      assertThat(left.get().jobId()).isEqualTo(job);
      Optional<SetRow> none = catalog.jdbi().withExtension(SetDao.class, d -> d.find(setId));
      assertThat(none).isEmpty();
    }
    worker = RunningWorker.start(settings, gate);

    // the new worker verifies it from the store (the upload session died with the old one)
    SetRow pending = await().atMost(Duration.ofSeconds(60)).until(() -> set(setId), Optional::isPresent).orElseThrow();
    assertThat(pending.status()).isEqualTo(SetStatus.PENDING);
    assertThat(registered(setId)).isFalse();
    worker.completedPushJob(job, REPO);
    JsonNode captured = awaitEvent("ephemera.captured", setId);
    assertThat(captured.get("tar_sha256").asText()).isEqualTo(pending.tarSha256());
    CliRun restore = worker.cli(worker.startedPushJob(REPO), "restore", "deps", "--json");
    assertThat(restore.exit()).as(restore.err()).isZero();
    assertThat(JSON.readTree(restore.out()).get("set_id").asText()).isEqualTo(setId);
  }
}
