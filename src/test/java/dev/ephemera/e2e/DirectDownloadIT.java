package dev.ephemera.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.Zstd;
import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.EventCodec;
import dev.ephemera.event.JobCompleted;
import dev.ephemera.event.JobInfo;
import dev.ephemera.event.JobStarted;
import dev.ephemera.event.Repo;
import dev.ephemera.event.Ulid;
import dev.ephemera.store.S3Config;
import dev.ephemera.store.S3ObjectStore;
import dev.ephemera.testing.RandomTree;
import dev.ephemera.testing.RealServices;
import dev.ephemera.testing.RunningWorker;
import dev.ephemera.testing.RunningWorker.CliRun;
import dev.ephemera.testing.TestServices;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restores fetch chunks straight from the bucket by presigned URLs the worker hands out for that set's chunks only;
 * what comes from there is verified like anything else (a tampered chunk is refused and the target stays as it was),
 * and with {@code s3.direct-downloads=false} everything goes through the worker again.
 */
@ExtendWith(RealServices.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DirectDownloadIT {
  private static final ObjectMapper JSON = EventCodec.newMapper();
  private RunningWorker direct;
  private RunningWorker proxied;
  @TempDir static Path tmp;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void start(TestServices services) throws Exception {
    direct = RunningWorker.start(services, "direct");
    proxied = RunningWorker.start(services, "proxied", Map.of("s3.direct-downloads", "false"));
  }

  @AfterAll
  void stop() throws Exception {
    direct.close();
    proxied.close();
  }

  private static JobInfo job(long repo, String branch) {
    return new JobInfo(
        Ulid.next(), "gong-" + repo, new Repo("o", "r" + repo, repo), "a".repeat(40), branch, JobInfo.Trigger.PUSH,
        null, false, "main", "default", "build", List.of());
  }

  private String started(RunningWorker worker, JobInfo job) throws Exception {
    worker.publish(CloudEvent.of("urn:test", JobStarted.of(job)));
    Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> get(worker, job.jobId(), "/staged").statusCode() == 200);
    return job.jobId();
  }

  /** A tree of a few hundred files (several chunks), persisted by a job of {@code repo} that then succeeds. */
  private Path persisted(RunningWorker worker, long repo) throws Exception {
    JobInfo job = job(repo, "feature");
    started(worker, job);
    Path dir = RandomTree.write(tmp.resolve(job.jobId()), repo, 300, 1000, 20_000, i -> "d" + (i % 7) + "/f" + i);
    CliRun run = worker.cli(job.jobId(), "persist", "cache", dir.toString(), "--json", "--strict");
    assertThat(run.exit()).as(run.err()).isZero();
    String setId = JSON.readTree(run.out()).get("set_id").asText();
    worker.publish(CloudEvent.of("urn:test", JobCompleted.of(job, JobCompleted.Result.SUCCESS, Instant.now())));
    worker.outputs().await(r -> new String(r.value()).contains("ephemera.captured") && new String(r.value()).contains(setId));
    return dir;
  }

  private HttpResponse<byte[]> get(RunningWorker worker, String job, String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(worker.url() + "/v1/jobs/" + job + path))
            .header("Authorization", "Bearer " + worker.jobToken(job))
            .build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  private String setOf(RunningWorker worker, String job) throws Exception {
    HttpResponse<byte[]> resolved = get(worker, job, "/sets/cache");
    assertThat(resolved.statusCode()).isEqualTo(200);
    return JSON.readTree(resolved.body()).get("set_id").asText();
  }

  /** Chunk requests the worker answered itself (the server's share of a restore, step chunk_download). */
  private double servedByWorker(RunningWorker worker) throws Exception {
    String metrics =
        http.send(HttpRequest.newBuilder(worker.url().resolve("/metrics")).build(), HttpResponse.BodyHandlers.ofString())
            .body();
    return metrics.lines()
        .filter(l -> l.startsWith("ephemera_restore_seconds_count{") && l.contains("step=\"chunk_download\""))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .sum();
  }

  private static Map<String, String> snapshot(Path root) throws Exception {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.filter(Files::isRegularFile).toList()) {
        out.put(root.relativize(p).toString(), java.util.HexFormat.of().formatHex(
            java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
      }
    }
    return out;
  }

  private static void deleteTree(Path root) throws Exception {
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private S3ObjectStore bucketOf(RunningWorker worker) {
    Map<String, String> s = worker.settings();
    return new S3ObjectStore(
        new S3Config(URI.create(s.get("s3.endpoint")), s.get("s3.region"), s.get("s3.bucket"), s.getOrDefault(
            "s3.prefix", ""), true, s.get("s3.access-key"), s.get("s3.secret-key")));
  }

  @Test
  void aRestoreFetchesTheSetsChunksFromTheBucketByUrlsForThoseChunksOnly() throws Exception {
    Path dir = persisted(direct, 11);
    Map<String, String> original = snapshot(dir);
    String reader = started(direct, job(11, "feature"));
    String setId = setOf(direct, reader);

    HttpResponse<byte[]> answer = get(direct, reader, "/sets/" + setId + "/chunk-urls");
    assertThat(answer.statusCode()).isEqualTo(200);
    JsonNode urls = JSON.readTree(answer.body()).get("chunks");
    JsonNode manifest = JSON.readTree(get(direct, reader, "/sets/" + setId + "/manifest").body());
    Set<String> chunks = new HashSet<>();
    manifest.get("chunks").forEach(c -> chunks.add(c.get("sha256").asText()));
    assertThat(chunks).hasSizeGreaterThan(1);
    JsonNode lean = JSON.readTree(get(direct, reader, "/sets/" + setId + "/manifest?files=false").body());
    assertThat(manifest.get("files").size()).isGreaterThan(300);
    assertThat(lean.has("files")).isFalse();
    assertThat(lean.get("chunks")).isEqualTo(manifest.get("chunks"));
    assertThat(lean.get("tar_sha256")).isEqualTo(manifest.get("tar_sha256"));
    Set<String> handedOut = new HashSet<>();
    urls.fieldNames().forEachRemaining(handedOut::add);
    assertThat(handedOut).isEqualTo(chunks);
    urls.fields().forEachRemaining(e -> assertThat(e.getValue().asText()).contains("chunks/" + e.getKey()));

    deleteTree(dir);
    double before = servedByWorker(direct);
    CliRun restore = direct.cli(reader, "restore", "cache", "--json", "--strict");
    assertThat(restore.exit()).as(restore.err()).isZero();
    assertThat(snapshot(dir)).isEqualTo(original);
    assertThat(servedByWorker(direct)).as("the worker served no chunk bytes").isEqualTo(before);
  }

  @Test
  void aTamperedChunkInTheBucketIsRefusedAndTheTargetStaysAsItWas() throws Exception {
    Path dir = persisted(direct, 12);
    String reader = started(direct, job(12, "feature"));
    String setId = setOf(direct, reader);
    JsonNode manifest = JSON.readTree(get(direct, reader, "/sets/" + setId + "/manifest").body());
    String victim = manifest.get("chunks").get(1).get("sha256").asText();
    try (S3ObjectStore bucket = bucketOf(direct)) {
      byte[] frame = bucket.getBytes("chunks/" + victim).orElseThrow();
      byte[] raw = Zstd.decompress(frame, (int) Zstd.getFrameContentSize(frame));
      raw[raw.length / 2] ^= 1; // same size, one bit off: only the hash can tell
      bucket.put("chunks/" + victim, Zstd.compress(raw, 3));
    }
    Files.writeString(dir.resolve("d0/f0"), "changed locally", StandardCharsets.UTF_8);
    Map<String, String> before = snapshot(dir);

    CliRun restore = direct.cli(reader, "restore", "cache", "--strict");
    assertThat(restore.exit()).isEqualTo(3);
    assertThat(restore.err()).contains("refused").contains(victim).contains("does not match its hash");
    assertThat(snapshot(dir)).isEqualTo(before);
    try (Stream<Path> siblings = Files.list(dir.getParent())) {
      assertThat(siblings.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("ephemera-staging"));
    }
  }

  @Test
  void withDirectDownloadsOffTheWorkerHandsOutNoUrlsAndServesTheChunksItself() throws Exception {
    Path dir = persisted(proxied, 13);
    Map<String, String> original = snapshot(dir);
    String reader = started(proxied, job(13, "feature"));
    String setId = setOf(proxied, reader);
    HttpResponse<byte[]> answer = get(proxied, reader, "/sets/" + setId + "/chunk-urls");
    assertThat(answer.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(answer.body()).get("chunks").size()).isZero();

    deleteTree(dir);
    double before = servedByWorker(proxied);
    CliRun restore = proxied.cli(reader, "restore", "cache", "--json", "--strict");
    assertThat(restore.exit()).as(restore.err()).isZero();
    assertThat(snapshot(dir)).isEqualTo(original);
    assertThat(servedByWorker(proxied)).isGreaterThan(before);
  }

  @Test
  void chunkUrlsOfASetOutsideTheReadChainAreRefused() throws Exception {
    persisted(direct, 14);
    String owner = started(direct, job(14, "feature"));
    String setId = setOf(direct, owner);
    String stranger = started(direct, job(15, "feature"));
    assertThat(get(direct, stranger, "/sets/" + setId + "/chunk-urls").statusCode()).isEqualTo(403);
    String otherBranch = started(direct, job(14, "other"));
    // branch:other reads branch:other, then branch:main; the set is in branch:feature
    assertThat(get(direct, otherBranch, "/sets/" + setId + "/chunk-urls").statusCode()).isEqualTo(403);
  }
}
