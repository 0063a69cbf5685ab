package dev.ephemera.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.EventCodec;
import dev.ephemera.event.JobCompleted;
import dev.ephemera.event.JobInfo;
import dev.ephemera.event.JobStarted;
import dev.ephemera.event.Repo;
import dev.ephemera.event.Ulid;
import dev.ephemera.testing.RealServices;
import dev.ephemera.testing.RunningWorker;
import dev.ephemera.testing.RunningWorker.CliRun;
import dev.ephemera.testing.TestServices;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A persist's digests are computed by the worker while the chunks arrive (its upload session); they must be exactly
 * what the full digest of the stored frames gives — checked by registering the same manifest again without a session,
 * for a cold persist and for one that reuses most chunks — and a session that lies about the order changes nothing.
 */
@ExtendWith(RealServices.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class UploadSessionIT {
  private static final ObjectMapper JSON = EventCodec.newMapper();
  private static final Repo REPO = new Repo("oxidecomputer", "propolis", 4343);

  private RunningWorker worker;
  private final HttpClient http = HttpClient.newHttpClient();
  @TempDir Path tmp;

  @BeforeAll
  void start(TestServices services) throws Exception {
    worker = RunningWorker.start(services, "uploads");
  }

  @AfterAll
  void stop() throws Exception {
    worker.close();
  }

  private static JobInfo pushJob(String id) {
    return RunningWorker.pushJob(id, REPO);
  }

  private String startedPushJob() throws Exception {
    return worker.startedPushJob(REPO);
  }

  private JsonNode send(String job, String method, String path, Object body) throws Exception {
    HttpResponse<String> r = exchange(job, method, path, body);
    assertThat(r.statusCode()).as(r.body()).isBetween(200, 299);
    return JSON.readTree(r.body());
  }

  private HttpResponse<String> exchange(String job, String method, String path, Object body) throws Exception {
    return http.send(
            HttpRequest.newBuilder(worker.url().resolve(path))
                .header("Authorization", "Bearer " + worker.jobToken(job))
                .header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }

  /** Registers the set's manifest again, with {@code session} (or none: the full digest of the stored frames). */
  private JsonNode registerAgain(String job, JsonNode persisted, String name, String session) throws Exception {
    JsonNode manifest =
        send(job, "GET", "/v1/jobs/" + job + "/sets/" + persisted.get("set_id").asText() + "/manifest", null);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("name", name);
    body.put("manifest", manifest);
    if (session != null) {
      body.put("upload_session", session);
    }
    return send(job, "POST", "/v1/jobs/" + job + "/sets", body);
  }

  /** Persists, as set {@code name}, a tree of one file of {@code size} random bytes; the CLI's JSON answer. */
  private JsonNode persistRandomBlob(String job, String name, int size, long seed) throws Exception {
    Path tree = tmp.resolve(name);
    Files.createDirectories(tree);
    byte[] data = new byte[size];
    new Random(seed).nextBytes(data);
    Files.write(tree.resolve("blob"), data);
    CliRun run = worker.cli(job, "persist", name, tree.toString(), "--json", "--wait");
    assertThat(run.exit()).as(run.err()).isZero();
    return JSON.readTree(run.out());
  }

  private static void assertSameDigests(JsonNode a, JsonNode b) {
    assertThat(a.get("tar_sha256").asText()).isEqualTo(b.get("tar_sha256").asText());
    assertThat(a.get("archive_sha256").asText()).isEqualTo(b.get("archive_sha256").asText());
    assertThat(a.get("archive_size").asLong()).isEqualTo(b.get("archive_size").asLong());
  }

  @Test
  void theDigestsComputedDuringTheUploadAreTheFullDigestsOfTheStoredFrames() throws Exception {
    Path tree = tmp.resolve("tree");
    Random random = new Random(11);
    for (int i = 0; i < 12; i++) {
      byte[] data = new byte[(i + 1) * 300_000];
      random.nextBytes(data);
      Path f = tree.resolve("d" + (i % 3) + "/f" + i + ".bin");
      Files.createDirectories(f.getParent());
      Files.write(f, data);
    }
    // the same content twice: repeated chunks within one stream
    Files.write(tree.resolve("copy.bin"), Files.readAllBytes(tree.resolve("d2/f11.bin")));
    String job = startedPushJob();

    CliRun cold = worker.cli(job, "persist", "tree", tree.toString(), "--json", "--wait");
    assertThat(cold.exit()).as(cold.err()).isZero();
    JsonNode coldSet = JSON.readTree(cold.out());
    assertThat(coldSet.get("chunks_uploaded").asLong()).isGreaterThan(3);
    assertSameDigests(coldSet, registerAgain(job, coldSet, "tree-full", null));

    Files.writeString(tree.resolve("d1/f4.bin"), "changed", StandardOpenOption.APPEND);
    CliRun warm = worker.cli(job, "persist", "tree", tree.toString(), "--json", "--wait");
    assertThat(warm.exit()).as(warm.err()).isZero();
    JsonNode warmSet = JSON.readTree(warm.out());
    assertThat(warmSet.get("chunks_uploaded").asLong()).isLessThan(warmSet.get("chunks").asLong());
    assertThat(warmSet.get("tar_sha256").asText()).isNotEqualTo(coldSet.get("tar_sha256").asText());
    assertSameDigests(warmSet, registerAgain(job, warmSet, "tree-full-again", null));
  }

  @Test
  void aSessionThatAnnouncedAnotherOrderFallsBackToTheFullDigest() throws Exception {
    String job = startedPushJob();
    JsonNode set = persistRandomBlob(job, "small", 2_000_000, 12);
    JsonNode manifest = send(job, "GET", "/v1/jobs/" + job + "/sets/" + set.get("set_id").asText() + "/manifest", null);
    List<String> chunks = manifest.get("chunks").findValuesAsText("sha256");
    assertThat(chunks).hasSizeGreaterThan(1);

    // A session announcing the chunks in reverse order, then registering the real manifest with it.
    String session = "lying-session-" + Ulid.next();
    List<String> reversed = new java.util.ArrayList<>(chunks);
    java.util.Collections.reverse(reversed);
    send(job, "POST", "/v1/jobs/" + job + "/chunks/present",
        Map.of("sha256", chunks, "session", session, "first", 0, "order", reversed));
    JsonNode again = registerAgain(job, set, "small-again", session);
    assertSameDigests(set, again);
  }

  @Test
  void aManifestMayLeaveTheStreamDigestsToTheWorkerButNotStateWrongOnes() throws Exception {
    String job = startedPushJob();
    JsonNode set = persistRandomBlob(job, "digests", 1_500_000, 13);
    com.fasterxml.jackson.databind.node.ObjectNode manifest =
        (com.fasterxml.jackson.databind.node.ObjectNode)
            send(job, "GET", "/v1/jobs/" + job + "/sets/" + set.get("set_id").asText() + "/manifest", null);

    manifest.remove(List.of("tar_sha256", "archive_sha256"));
    JsonNode filledIn =
        send(job, "POST", "/v1/jobs/" + job + "/sets", Map.of("name", "digests-left-out", "manifest", manifest));
    assertSameDigests(set, filledIn);
    JsonNode stored =
        send(job, "GET", "/v1/jobs/" + job + "/sets/" + filledIn.get("set_id").asText() + "/manifest", null);
    assertThat(stored.get("tar_sha256").asText()).isEqualTo(set.get("tar_sha256").asText());
    assertThat(stored.get("archive_sha256").asText()).isEqualTo(set.get("archive_sha256").asText());

    manifest.put("tar_sha256", "0".repeat(64));
    HttpResponse<String> wrong =
        exchange(job, "POST", "/v1/jobs/" + job + "/sets", Map.of("name", "digests-wrong", "manifest", manifest));
    assertThat(wrong.statusCode()).as(wrong.body()).isEqualTo(422);
    assertThat(wrong.body()).contains("manifest_mismatch").contains(set.get("tar_sha256").asText());
  }

  @Test
  void theJobsRowIsReadAgainWhereItMatters() throws Exception {
    // Not started yet: refused as unknown, and not remembered so: once started, the same token works at once.
    String id = Ulid.next();
    Map<String, Object> none = Map.of("sha256", List.of());
    HttpResponse<String> unknown = exchange(id, "POST", "/v1/jobs/" + id + "/chunks/present", none);
    assertThat(unknown.statusCode()).as(unknown.body()).isEqualTo(409);
    assertThat(unknown.body()).contains("job_unknown");
    worker.publish(CloudEvent.of("urn:buildomat:test", JobStarted.of(pushJob(id))));
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(30))
        .until(() -> worker.app().catalog().jdbi().withHandle(h ->
            h.createQuery("select count(*) from jobs where job_id = :j").bind("j", id).mapTo(Integer.class).one())
                == 1);
    HttpResponse<String> known = exchange(id, "POST", "/v1/jobs/" + id + "/chunks/present", none);
    assertThat(known.statusCode()).as(known.body()).isEqualTo(200);

    // Completed moments after its last request: a registration is refused although the job's row was just read.
    JsonNode set = persistRandomBlob(id, "late", 600_000, 14);
    JsonNode manifest = send(id, "GET", "/v1/jobs/" + id + "/sets/" + set.get("set_id").asText() + "/manifest", null);
    worker.publish(
        CloudEvent.of("urn:buildomat:test", JobCompleted.of(pushJob(id), JobCompleted.Result.SUCCESS, Instant.now())));
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(30))
        .until(() -> worker.app().catalog().jdbi().withHandle(h ->
            h.createQuery("select completed_at is not null from jobs where job_id = :j").bind("j", id)
                .mapTo(Boolean.class).one()));
    HttpResponse<String> late =
        exchange(id, "POST", "/v1/jobs/" + id + "/sets", Map.of("name", "too-late", "manifest", manifest));
    assertThat(late.statusCode()).as(late.body()).isEqualTo(409);
    assertThat(late.body()).contains("already completed");
  }
}
