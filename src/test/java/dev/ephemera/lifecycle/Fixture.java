package dev.ephemera.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.DeclaredSet;
import dev.ephemera.event.EventCodec;
import dev.ephemera.event.JobCompleted;
import dev.ephemera.event.JobInfo;
import dev.ephemera.event.JobStarted;
import dev.ephemera.event.Repo;
import dev.ephemera.event.Ulid;
import dev.ephemera.testing.RunningWorker;
import dev.ephemera.testing.RunningWorker.CliRun;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** Plays buildomat, jobs and an operator against one {@link RunningWorker}, for the lifecycle tests. */
final class Fixture {
  static final ObjectMapper JSON = EventCodec.newMapper();
  static final String SET = "cargo-registry";

  final RunningWorker worker;
  final String owner;
  final long repoId;
  private final Path tmp;

  Fixture(RunningWorker worker, long repoId, Path tmp) {
    this.worker = worker;
    this.repoId = repoId;
    this.owner = "gong-" + repoId;
    this.tmp = tmp;
  }

  JobInfo push(String branch) {
    return job(Ulid.next(), JobInfo.Trigger.PUSH, branch, null);
  }

  JobInfo job(String id, JobInfo.Trigger trigger, String branch, Integer pr) {
    return new JobInfo(
        id,
        owner,
        new Repo("oxidecomputer", "repo" + repoId, repoId),
        "b".repeat(40),
        branch,
        trigger,
        pr,
        false,
        "main",
        "helios-2.0",
        "build",
        List.of(new DeclaredSet(SET, List.of("/home/build/cache/**/*"), DeclaredSet.When.SUCCESS)));
  }

  void started(JobInfo job) throws Exception {
    worker.publish(CloudEvent.of("urn:buildomat:test", JobStarted.of(job)));
    // the API answers 409 until job.started is applied; the CLI retries, but waiting here keeps the tests plain
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(60))
        .until(() -> worker.app().catalog().inTransaction(tx -> tx.jobs().find(job.jobId()).isPresent()));
  }

  void completed(JobInfo job, JobCompleted.Result result) throws Exception {
    worker.publish(CloudEvent.of("urn:buildomat:test", JobCompleted.of(job, result, Instant.now())));
  }

  /** A directory of random bytes (incompressible, so the archive is about {@code bytes} long). */
  Path tree(String name, int bytes, long seed) throws IOException {
    Path dir = tmp.resolve(name + "-" + System.nanoTime());
    Files.createDirectories(dir.resolve("cache"));
    byte[] data = new byte[bytes];
    new Random(seed).nextBytes(data);
    Files.write(dir.resolve("cache/blob"), data);
    Files.writeString(dir.resolve("cache/name"), name + "\n");
    return dir;
  }

  /** Runs {@code persist} as the job and returns its JSON answer. */
  JsonNode persist(JobInfo job, Path dir) throws Exception {
    CliRun run = worker.cli(job.jobId(), "persist", SET, dir.toString(), "--json", "--strict");
    assertThat(run.exit()).as(run.err()).isZero();
    return JSON.readTree(run.out());
  }

  /** A job on {@code branch} persists {@code dir}, succeeds, and its set is captured; returns the set id. */
  String capture(String branch, Path dir) throws Exception {
    JobInfo job = push(branch);
    started(job);
    String setId = persist(job, dir).get("set_id").asText();
    completed(job, JobCompleted.Result.SUCCESS);
    awaitLifecycle("ephemera.captured", "set_id", setId);
    return setId;
  }

  /** Waits for an output event of {@code type} whose data field {@code field} is {@code value}. */
  JsonNode awaitLifecycle(String type, String field, String value) {
    ConsumerRecord<String, byte[]> r =
        worker.outputs().await(rec -> {
          JsonNode n = tree(rec.value());
          return n.path("type").asText().equals(type) && n.path("data").path(field).asText().equals(value);
        });
    return tree(r.value()).get("data");
  }

  List<JsonNode> outputs(String type, String field, String value) {
    List<JsonNode> out = new ArrayList<>();
    for (ConsumerRecord<String, byte[]> r : worker.outputs().all()) {
      JsonNode n = tree(r.value());
      if (n.path("type").asText().equals(type) && n.path("data").path(field).asText().equals(value)) {
        out.add(n.get("data"));
      }
    }
    return out;
  }

  /** Runs an admin command against this worker's API. */
  CliRun adminApi(String... args) {
    List<String> full = new ArrayList<>(List.of(args));
    full.addAll(List.of("--url", worker.url().toString(), "--admin-token", RunningWorker.ADMIN_TOKEN));
    return RunningWorker.run(full.toArray(String[]::new));
  }

  /** Runs an admin command against this worker's Kafka topics. */
  CliRun adminKafka(String... args) {
    List<String> full = new ArrayList<>(List.of(args));
    full.addAll(List.of("--bootstrap", worker.bootstrap(), "--topic-prefix", worker.topic("")));
    return RunningWorker.run(full.toArray(String[]::new));
  }

  String status(String setId) {
    return worker.app().catalog().inTransaction(tx -> tx.sets().find(setId).orElseThrow().status().db());
  }

  String head(String name, String scope) {
    return worker.app().catalog().inTransaction(
        tx -> tx.heads().find(owner, name, scope).map(h -> h.setId()).orElse(null));
  }

  static JsonNode tree(byte[] bytes) {
    try {
      return JSON.readTree(bytes);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
