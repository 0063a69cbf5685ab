package dev.ephemera.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
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
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attempts to break out of the trust table are refused with 403 and counted: a job token used for another job, another
 * owner's set, a set in a scope the job does not read; and what a fork's pull request writes is readable by that pull
 * request only, never by another pull request or a branch.
 */
@ExtendWith(RealServices.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BreakOutIT {
  private RunningWorker worker;
  @TempDir static Path tmp;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void start(TestServices services) throws Exception {
    worker = RunningWorker.start(services, "breakout");
  }

  @AfterAll
  void stop() throws Exception {
    worker.close();
  }

  private static JobInfo job(String id, long repo, JobInfo.Trigger trigger, String branch, Integer pr, boolean fork) {
    return new JobInfo(
        id, "gong-" + repo, new Repo("o", "r" + repo, repo), "a".repeat(40), branch, trigger, pr, fork, "main",
        "default", "build", List.of());
  }

  /** Publishes job.started and waits until the worker has applied it (until then the API answers 409). */
  private String started(JobInfo job) throws Exception {
    worker.publish(CloudEvent.of("urn:test", JobStarted.of(job)));
    worker.awaitKnown(job.jobId());
    return job.jobId();
  }

  /** Persists a small set as {@code job} and completes it successfully; returns the set id. */
  private String persisted(JobInfo job) throws Exception {
    started(job);
    Path dir = Files.createDirectories(tmp.resolve(job.jobId()));
    Files.writeString(dir.resolve("f"), "from " + job.jobId());
    CliRun run = worker.cli(job.jobId(), "persist", "cache", dir.toString(), "--json", "--strict");
    assertThat(run.exit()).as(run.err()).isZero();
    String setId = EventCodec.newMapper().readTree(run.out()).get("set_id").asText();
    worker.publish(CloudEvent.of("urn:test", JobCompleted.of(job, JobCompleted.Result.SUCCESS, Instant.now())));
    worker.outputs().await(r -> new String(r.value()).contains("ephemera.captured") && new String(r.value()).contains(setId));
    return setId;
  }

  private int get(String jobInPath, String tokenJob, String path) throws Exception {
    return http.send(
            HttpRequest.newBuilder(URI.create(worker.url() + "/v1/jobs/" + jobInPath + path))
                .header("Authorization", "Bearer " + worker.jobToken(tokenJob))
                .build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  private double denied(String reason) throws Exception {
    String metrics =
        http.send(HttpRequest.newBuilder(worker.url().resolve("/metrics")).build(), HttpResponse.BodyHandlers.ofString())
            .body();
    return metrics.lines()
        .filter(l -> l.startsWith("ephemera_denied_total{") && l.contains("reason=\"" + reason + "\""))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .sum();
  }

  @Test
  void aTokenForOneJobCannotActForAnother() throws Exception {
    String a = started(job(Ulid.next(), 1, JobInfo.Trigger.PUSH, "x", null, false));
    String b = started(job(Ulid.next(), 1, JobInfo.Trigger.PUSH, "y", null, false));
    double before = denied("other_job");
    assertThat(get(b, a, "/staged")).isEqualTo(403);
    assertThat(denied("other_job")).isEqualTo(before + 1);
  }

  @Test
  void anotherOwnersSetIsRefusedEvenByItsId() throws Exception {
    String set = persisted(job(Ulid.next(), 2, JobInfo.Trigger.PUSH, "feature", null, false));
    String stranger = started(job(Ulid.next(), 3, JobInfo.Trigger.PUSH, "feature", null, false));
    double before = denied("other_owner");
    assertThat(get(stranger, stranger, "/sets/" + set + "/manifest")).isEqualTo(403);
    assertThat(denied("other_owner")).isEqualTo(before + 1);
  }

  @Test
  void aSetOutsideTheJobsReadChainIsRefusedAndAForksWritesStayInItsPullRequest() throws Exception {
    // a fork's pull request #5 persists: it lands in pr:5
    String forkSet = persisted(job(Ulid.next(), 4, JobInfo.Trigger.PULL_REQUEST, null, 5, true));
    // a branch job of the same repository reads branch:feature, branch:main: not pr:5
    String branchJob = started(job(Ulid.next(), 4, JobInfo.Trigger.PUSH, "feature", null, false));
    CliRun miss = worker.cli(branchJob, "restore", "cache", "--strict");
    assertThat(miss.exit()).as(miss.err()).isEqualTo(2);
    double before = denied("scope");
    assertThat(get(branchJob, branchJob, "/sets/" + forkSet + "/manifest")).isEqualTo(403);
    // another pull request of the same repository does not read pr:5 either
    String otherPr = started(job(Ulid.next(), 4, JobInfo.Trigger.PULL_REQUEST, "topic", 6, false));
    assertThat(get(otherPr, otherPr, "/sets/" + forkSet + "/manifest")).isEqualTo(403);
    assertThat(denied("scope")).isEqualTo(before + 2);
    // while the next job of the same fork pull request gets it
    String samePr = started(job(Ulid.next(), 4, JobInfo.Trigger.PULL_REQUEST, null, 5, true));
    CliRun hit = worker.cli(samePr, "restore", "cache", "--json", "--strict");
    assertThat(hit.exit()).as(hit.err()).isZero();
    JsonNode restored = EventCodec.newMapper().readTree(hit.out());
    assertThat(restored.get("set_id").asText()).isEqualTo(forkSet);
    assertThat(restored.get("scope").asText()).isEqualTo("pr:5");
  }

  @Test
  void aForkPullRequestWithoutANumberAndADefaultBranchPushMayNotPersist() throws Exception {
    for (JobInfo job :
        List.of(
            job(Ulid.next(), 5, JobInfo.Trigger.PULL_REQUEST, null, null, true),
            job(Ulid.next(), 5, JobInfo.Trigger.PUSH, "main", null, false))) {
      started(job);
      Path dir = Files.createDirectories(tmp.resolve("np-" + job.jobId()));
      Files.writeString(dir.resolve("f"), "x");
      CliRun run = worker.cli(job.jobId(), "persist", "cache", dir.toString(), "--strict");
      assertThat(run.exit()).isEqualTo(3);
      assertThat(run.err()).contains("may not persist");
    }
  }
}
