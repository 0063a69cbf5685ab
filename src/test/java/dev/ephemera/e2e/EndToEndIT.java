package dev.ephemera.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.ZstdInputStream;
import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.DeclaredSet;
import dev.ephemera.event.EventCodec;
import dev.ephemera.event.JobCompleted;
import dev.ephemera.event.JobInfo;
import dev.ephemera.event.JobStarted;
import dev.ephemera.event.Repo;
import dev.ephemera.event.Topics;
import dev.ephemera.event.Ulid;
import dev.ephemera.testing.RealServices;
import dev.ephemera.testing.RunningWorker;
import dev.ephemera.testing.RunningWorker.CliRun;
import dev.ephemera.testing.TestServices;
import dev.ephemera.testing.TopicRecorder;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole story of issue 3 through the real broker, PostgreSQL and S3 API: a pull request job misses, persists and
 * succeeds; the next job of the same pull request is staged the set, restores it byte for byte, and its
 * {@code ephemera.used} carries a link whose download is a valid {@code .tar.zst} with the reported sha256; a failed
 * job's set is discarded and never visible; a default-branch push restores and persists nothing; and redelivering every
 * event changes nothing.
 */
@ExtendWith(RealServices.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EndToEndIT {
  private static final ObjectMapper JSON = EventCodec.newMapper();
  private static final Repo REPO = new Repo("oxidecomputer", "omicron", 4242);
  private static final String OWNER = "gong-4242";

  private RunningWorker worker;
  private final List<byte[]> published = new ArrayList<>();
  private final List<CloudEvent> events = new ArrayList<>();
  @TempDir static Path tmp;
  private Path cache;
  private Map<String, String> original;
  private String jobA;
  private String jobB;
  private final List<String> sentinels = new ArrayList<>();

  @BeforeAll
  void start(TestServices services) throws Exception {
    worker = RunningWorker.start(services, "e2e");
  }

  @AfterAll
  void stop() throws Exception {
    worker.close();
  }

  private static JobInfo job(String id, JobInfo.Trigger trigger, String branch, Integer pr, boolean fork) {
    return new JobInfo(
        id,
        OWNER,
        REPO,
        "a".repeat(40),
        branch,
        trigger,
        pr,
        fork,
        "main",
        "helios-2.0",
        "build",
        List.of(new DeclaredSet("cargo-registry", List.of("/home/build/.cargo/registry/**/*"), DeclaredSet.When.SUCCESS)));
  }

  private static JobInfo pullRequestJob(String id) {
    return job(id, JobInfo.Trigger.PULL_REQUEST, "fix-flake", 1432, false);
  }

  private void publish(CloudEvent event) throws Exception {
    events.add(event);
    published.add(worker.publish(event));
  }

  private void started(JobInfo job) throws Exception {
    publish(CloudEvent.of("urn:buildomat:test", JobStarted.of(job)));
  }

  private void completed(JobInfo job, JobCompleted.Result result) throws Exception {
    publish(CloudEvent.of("urn:buildomat:test", JobCompleted.of(job, result, Instant.now())));
  }

  private ConsumerRecord<String, byte[]> awaitEvent(String type, String jobId) {
    return worker
        .outputs()
        .await(r -> {
          JsonNode n = TopicRecorder.json(r.value());
          return n.path("type").asText().equals(type) && n.path("data").path("job_id").asText().equals(jobId);
        });
  }

  private static Map<String, String> snapshot(Path root) throws Exception {
    Map<String, String> files = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.toList()) {
        String rel = root.relativize(p).toString();
        if (Files.isSymbolicLink(p)) {
          files.put(rel, "link:" + Files.readSymbolicLink(p));
        } else if (Files.isRegularFile(p)) {
          files.put(
              rel,
              sha256(Files.readAllBytes(p)) + " " + PosixFilePermissions.toString(Files.getPosixFilePermissions(p))
                  + " " + Files.getLastModifiedTime(p).toMillis());
        } else if (Files.isDirectory(p)) {
          files.put(rel + "/", "dir");
        }
      }
    }
    return files;
  }

  private static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  @Test
  @Order(1)
  void aPullRequestJobMissesThenPersistsAndItsSetIsCapturedWhenItSucceeds() throws Exception {
    cache = tmp.resolve("home/build/.cargo/registry");
    Files.createDirectories(cache.resolve("index/3/s"));
    Files.createDirectories(cache.resolve("cache/empty-dir"));
    Files.writeString(cache.resolve("index/3/s/syn"), "syn 2.0.87\n".repeat(5000));
    byte[] big = new byte[3 << 20];
    new java.util.Random(7).nextBytes(big);
    Files.write(cache.resolve("cache/serde-1.0.210.crate"), big);
    Files.write(cache.resolve("cache/tool"), "#!/bin/sh\necho hi\n".getBytes(StandardCharsets.UTF_8));
    Files.setPosixFilePermissions(cache.resolve("cache/tool"), PosixFilePermissions.fromString("rwxr-x---"));
    Files.createSymbolicLink(cache.resolve("latest"), Path.of("cache/serde-1.0.210.crate"));
    original = snapshot(cache);

    jobA = Ulid.next();
    started(pullRequestJob(jobA));

    CliRun miss = worker.cli(jobA, "restore", "cargo-registry");
    assertThat(miss.exit()).as(miss.err()).isZero();
    assertThat(miss.err()).contains("cargo-registry").contains("tried pr:1432, branch:fix-flake, branch:main");
    CliRun strictMiss = worker.cli(jobA, "restore", "cargo-registry", "--strict");
    assertThat(strictMiss.exit()).isEqualTo(2);

    CliRun persist = worker.cli(jobA, "persist", "cargo-registry", cache.toString(), "--json");
    assertThat(persist.exit()).as(persist.err()).isZero();
    JsonNode result = JSON.readTree(persist.out());
    assertThat(result.get("outcome").asText()).isEqualTo("persisted");
    assertThat(result.get("scope").asText()).isEqualTo("pr:1432");
    assertThat(result.get("files").asInt()).isGreaterThanOrEqualTo(4);
    assertThat(result.get("root").asText()).isEqualTo(cache.toRealPath().toString());
    // answered once the chunks were stored: the worker's digests come with the set once it has verified them
    assertThat(result.get("status").asText()).isEqualTo("verifying");
    assertThat(result.has("tar_sha256")).isFalse();

    completed(pullRequestJob(jobA), JobCompleted.Result.SUCCESS);
    JsonNode captured = TopicRecorder.json(awaitEvent("ephemera.captured", jobA).value()).get("data");
    assertThat(captured.get("set_id").asText()).isEqualTo(result.get("set_id").asText());
    // the sha256 of the tar stream the files make (the restore below checks it byte for byte)
    assertThat(captured.get("tar_sha256").asText()).matches("[0-9a-f]{64}");
    assertThat(captured.get("head_moved").asBoolean()).isTrue();
    // job A restored nothing: no ephemera.used for it
    assertThat(worker.outputs().matching(r -> r.topic().endsWith(Topics.USED) && r.key().equals(jobA))).isEmpty();
  }

  @Test
  @Order(2)
  void theNextJobOfThePullRequestIsStagedTheSetAndRestoresItByteForByte() throws Exception {
    jobB = Ulid.next();
    started(pullRequestJob(jobB));
    JsonNode staged = TopicRecorder.json(awaitEvent("ephemera.staged", jobB).value()).get("data");
    assertThat(staged.get("scope").asText()).isEqualTo("pr:1432");
    assertThat(staged.get("fallback_level").asInt()).isZero();

    deleteTree(cache);
    CliRun restore = worker.cli(jobB, "restore", "--all", "--json");
    assertThat(restore.exit()).as(restore.err()).isZero();
    assertThat(JSON.readTree(restore.out()).get("outcome").asText()).isEqualTo("restored");
    assertThat(snapshot(cache)).isEqualTo(original);
  }

  @Test
  @Order(3)
  void theUsedEventCarriesALinkWhoseDownloadIsAPlainTarZstWithTheReportedSha256() throws Exception {
    completed(pullRequestJob(jobB), JobCompleted.Result.SUCCESS);
    ConsumerRecord<String, byte[]> usedRecord = awaitEvent("ephemera.used", jobB);
    assertThat(usedRecord.key()).isEqualTo(jobB);
    JsonNode set = TopicRecorder.json(usedRecord.value()).get("data").get("sets").get(0);
    assertThat(set.get("name").asText()).isEqualTo("cargo-registry");
    assertThat(set.get("created_by_job").asText()).isEqualTo(jobA);
    assertThat(set.get("scope").asText()).isEqualTo("pr:1432");
    assertThat(set.get("fallback_level").asInt()).isZero();
    assertThat(set.hasNonNull("restored_at")).isTrue();

    HttpResponse<byte[]> download =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(set.get("download_url").asText())).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    assertThat(download.statusCode()).isEqualTo(200);
    assertThat(sha256(download.body())).isEqualTo(set.get("archive_sha256").asText());
    assertThat((long) download.body().length).isEqualTo(set.get("archive_size").asLong());
    byte[] tar;
    try (InputStream in = new ZstdInputStream(new ByteArrayInputStream(download.body()))) {
      tar = in.readAllBytes();
    }
    assertThat(sha256(tar)).isEqualTo(set.get("tar_sha256").asText());

    // the real tools read it: zstd -dc | tar -x
    Path archive = tmp.resolve("download.tar.zst");
    Files.write(archive, download.body());
    Path out = Files.createDirectories(tmp.resolve("by-gnu-tar"));
    Process tarx =
        new ProcessBuilder("tar", "--zstd", "-xf", archive.toString(), "-C", out.toString())
            .redirectErrorStream(true)
            .start();
    String tarOutput = new String(tarx.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(tarx.waitFor()).as(tarOutput).isZero();
    assertThat(Files.readAllBytes(out.resolve("cache/serde-1.0.210.crate")))
        .isEqualTo(Files.readAllBytes(cache.resolve("cache/serde-1.0.210.crate")));

    // and so does `ephemera unpack LINK DIR`, which checks the sha256 the server states
    CliRun unpack = RunningWorker.run("unpack", set.get("download_url").asText(), tmp.resolve("unpacked").toString());
    assertThat(unpack.exit()).as(unpack.err()).isZero();
    assertThat(unpack.out()).contains(set.get("tar_sha256").asText()).contains("verified");
    assertThat(snapshot(tmp.resolve("unpacked"))).isEqualTo(original);

    // a tampered link is refused (the signature's first character changed, whatever it was)
    String link = set.get("download_url").asText();
    int sig = link.indexOf("sig=") + 4;
    String forged = link.substring(0, sig) + (link.charAt(sig) == 'A' ? 'B' : 'A') + link.substring(sig + 1);
    assertThat(forged).isNotEqualTo(link);
    HttpResponse<String> refused =
        HttpClient.newHttpClient()
            .send(HttpRequest.newBuilder(URI.create(forged)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(refused.statusCode()).isEqualTo(403);
  }

  @Test
  @Order(4)
  void aFailedJobsPendingSetIsDiscardedAndNeverVisible() throws Exception {
    String jobC = Ulid.next();
    started(pullRequestJob(jobC));
    Path other = tmp.resolve("c/registry");
    Files.createDirectories(other);
    Files.writeString(other.resolve("poisoned"), "from a failed job");
    CliRun persist = worker.cli(jobC, "persist", "cargo-registry", other.toString(), "--json");
    assertThat(persist.exit()).as(persist.err()).isZero();
    String setC = JSON.readTree(persist.out()).get("set_id").asText();
    completed(pullRequestJob(jobC), JobCompleted.Result.FAILURE);
    JsonNode discarded = TopicRecorder.json(awaitEvent("ephemera.discarded", jobC).value()).get("data");
    assertThat(discarded.get("set_id").asText()).isEqualTo(setC);
    assertThat(discarded.get("reason").asText()).isEqualTo("job failed");

    String jobD = Ulid.next();
    started(pullRequestJob(jobD));
    awaitEvent("ephemera.staged", jobD);
    CliRun restore = worker.cli(jobD, "restore", "cargo-registry", "--json");
    assertThat(restore.exit()).as(restore.err()).isZero();
    assertThat(JSON.readTree(restore.out()).get("set_id").asText()).isNotEqualTo(setC);
    assertThat(Files.exists(other.resolve("poisoned"))).isTrue();
    assertThat(Files.exists(cache.resolve("poisoned"))).isFalse();
  }

  @Test
  @Order(5)
  void aPushToTheDefaultBranchRestoresNothingAndPersistsNothing() throws Exception {
    String jobE = Ulid.next();
    JobInfo push = job(jobE, JobInfo.Trigger.PUSH, "main", null, false);
    started(push);
    CliRun restore = worker.cli(jobE, "restore", "cargo-registry");
    assertThat(restore.exit()).isZero();
    assertThat(restore.err()).contains("hermetic");
    CliRun persist = worker.cli(jobE, "persist", "cargo-registry", cache.toString());
    assertThat(persist.exit()).as(persist.err()).isZero();
    assertThat(persist.err()).contains("may not persist");
    assertThat(worker.cli(jobE, "persist", "cargo-registry", cache.toString(), "--strict").exit()).isEqualTo(3);
    completed(push, JobCompleted.Result.SUCCESS);
    awaitProcessed();
    Integer sets =
        worker.app().catalog().jdbi().withHandle(h ->
            h.createQuery("select count(*) from sets where created_by_job = :j").bind("j", jobE).mapTo(Integer.class).one());
    assertThat(sets).isZero();
  }

  @Test
  @Order(6)
  void redeliveringEveryEventChangesNothing() throws Exception {
    awaitProcessed();
    String before = catalogState();
    int outputsBefore = worker.outputs().all().size();
    for (int i = 0; i < events.size(); i++) {
      worker.publishRaw(events.get(i).topic(), events.get(i).key(), published.get(i));
    }
    awaitProcessed();
    assertThat(catalogState()).isEqualTo(before);
    // nothing new was emitted but the sentinel job's own staged event
    assertThat(worker.outputs().all()).hasSize(outputsBefore + 1);
  }

  /** Publishes a sentinel job (same owner, so the same partition) and waits until the worker has applied it. */
  private void awaitProcessed() throws Exception {
    String sentinel = Ulid.next();
    sentinels.add(sentinel);
    JobInfo job = pullRequestJob(sentinel);
    CloudEvent event = CloudEvent.of("urn:buildomat:test", JobStarted.of(job));
    worker.publish(event);
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(60))
        .until(
            () ->
                worker.app().catalog().jdbi().withHandle(h ->
                    h.createQuery("select count(*) from jobs where job_id = :j").bind("j", sentinel).mapTo(Integer.class).one())
                    == 1);
    // its staged event went through the outbox after everything before it
    awaitEvent("ephemera.staged", sentinel);
  }

  /** Sets, heads, uses and emitted events, leaving out what the sentinel jobs themselves caused. */
  private String catalogState() {
    String[] skip = sentinels.toArray(String[]::new);
    return worker
        .app()
        .catalog()
        .jdbi()
        .withHandle(
            h ->
                String.join(
                        "\n",
                        h.createQuery("select set_id || ' ' || status || ' ' || coalesce(status_reason, '') from sets order by set_id")
                            .mapTo(String.class)
                            .list())
                    + "\n"
                    + String.join(
                        "\n",
                        h.createQuery("select owner || name || scope || set_id from heads order by 1")
                            .mapTo(String.class)
                            .list())
                    + "\nuses "
                    + h.createQuery("select count(*) from uses where job_id <> all(:skip)")
                        .bind("skip", skip)
                        .mapTo(String.class)
                        .one()
                    + "\noutbox "
                    + h.createQuery(
                            "select count(*) from outbox where convert_from(payload, 'UTF8') not similar to :pattern")
                        .bind("pattern", "%(" + String.join("|", skip) + ")%")
                        .mapTo(String.class)
                        .one());
  }

  private static void deleteTree(Path root) throws Exception {
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
