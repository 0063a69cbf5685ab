package dev.ephemera.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ephemera.event.Topics;
import dev.ephemera.event.JobCompleted;
import dev.ephemera.event.JobInfo;
import dev.ephemera.testing.RealServices;
import dev.ephemera.testing.RunningWorker;
import dev.ephemera.testing.RunningWorker.CliRun;
import dev.ephemera.testing.TestServices;
import dev.ephemera.testing.TopicRecorder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's side through the real broker, PostgreSQL and S3 API: per-owner policy set with the CLI changes what a
 * default-branch push may write; the admin views show sets, jobs and the check-run report; invalidation moves heads
 * back and survives a replay of the control topic; replaying buildomat.jobs for a time range invalidates exactly what
 * the jobs in it captured.
 */
@ExtendWith(RealServices.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminIT {
  private RunningWorker worker;
  @TempDir Path tmp;

  @BeforeAll
  void start(TestServices services) throws Exception {
    worker = RunningWorker.start(services, "admin");
  }

  @AfterAll
  void stop() throws Exception {
    worker.close();
  }

  @Test
  void aSeedOwnersDefaultBranchPushWritesMainAndReadsNothingAndOtherBranchesReadItAtFallbackLevelOne()
      throws Exception {
    Fixture f = new Fixture(worker, 5101, tmp);
    CliRun defaults = f.adminApi("admin", "policy", "get", f.owner);
    assertThat(defaults.exit()).as(defaults.err()).isZero();
    assertThat(defaults.out()).contains("hermetic").contains("(defaults)").contains("10.0 GiB");

    CliRun set = f.adminApi("admin", "policy", "set", f.owner, "--mode", "seed", "--quota", "20GiB", "--idle", "14d");
    assertThat(set.exit()).as(set.err()).isZero();
    CliRun json = f.adminApi("admin", "policy", "get", f.owner, "--json");
    JsonNode policy = Fixture.JSON.readTree(json.out());
    assertThat(policy.get("default_branch_mode").asText()).isEqualTo("seed");
    assertThat(policy.get("quota_bytes").asLong()).isEqualTo(20L << 30);
    assertThat(policy.get("idle_days").asInt()).isEqualTo(14);
    assertThat(policy.get("when_default").asText()).isEqualTo("success");
    assertThat(policy.get("is_default").asBoolean()).isFalse();

    // the default-branch push persists into branch:main ...
    JobInfo main = f.push("main");
    f.started(main);
    Path dir = f.tree("seed", 200_000, 1);
    JsonNode persisted = f.persist(main, dir);
    assertThat(persisted.get("scope").asText()).isEqualTo("branch:main");
    String seeded = persisted.get("set_id").asText();
    f.completed(main, JobCompleted.Result.SUCCESS);
    f.awaitLifecycle("ephemera.captured", "set_id", seeded);
    assertThat(f.head(Fixture.SET, "branch:main")).isEqualTo(seeded);

    // ... a later default-branch push still reads nothing ...
    JobInfo main2 = f.push("main");
    f.started(main2);
    CliRun miss = worker.cli(main2.jobId(), "restore", Fixture.SET, "--strict");
    assertThat(miss.exit()).as(miss.err()).isEqualTo(2);

    // ... and a push to another branch is staged it at fallback level 1 and restores it
    JobInfo feature = f.push("feature");
    f.started(feature);
    JsonNode staged = f.awaitLifecycle("ephemera.staged", "job_id", feature.jobId());
    assertThat(staged.get("set_id").asText()).isEqualTo(seeded);
    assertThat(staged.get("fallback_level").asInt()).isEqualTo(1);
    Fixture.deleteTree(dir);
    CliRun restore = worker.cli(feature.jobId(), "restore", Fixture.SET, "--json", "--strict");
    assertThat(restore.exit()).as(restore.err()).isZero();
    assertThat(Fixture.JSON.readTree(restore.out()).get("fallback_level").asInt()).isEqualTo(1);
    f.completed(feature, JobCompleted.Result.SUCCESS);
    f.awaitLifecycle("ephemera.used", "job_id", feature.jobId());

    // the operator's views of it
    CliRun sets = f.adminApi("admin", "sets", "--owner", f.owner);
    assertThat(sets.exit()).as(sets.err()).isZero();
    assertThat(sets.out()).contains("CREATED BY JOB").contains(seeded).contains("branch:main").contains(main.jobId())
        .contains("live (head)");
    CliRun show = f.adminApi("admin", "sets", "show", seeded);
    assertThat(show.exit()).as(show.err()).isZero();
    assertThat(show.out()).contains("status          live (head)").contains("restored by job " + feature.jobId())
        .contains("staged   by job " + feature.jobId()).contains("  cache/blob");
    CliRun job = f.adminApi("admin", "jobs", "show", feature.jobId());
    assertThat(job.exit()).as(job.err()).isZero();
    assertThat(job.out()).contains("reads      branch:feature, branch:main").contains("restored:")
        .contains(seeded + "  " + Fixture.SET + "  branch:main (fallback level 1)");
    CliRun report = f.adminApi("admin", "report", feature.jobId());
    assertThat(report.exit()).as(report.err()).isZero();
    JsonNode detail = Fixture.JSON.readTree(f.adminApi("admin", "sets", "show", seeded, "--json").out());
    assertThat(report.out())
        .startsWith("### Persisted ephemera")
        .contains("| `" + Fixture.SET + "` | `branch:main` | 1 | `" + detail.get("tar_sha256").asText() + "` |")
        .contains("| `" + main.jobId() + "` |")
        .contains("](" + worker.url() + "/v1/sets/" + seeded + "/archive.tar.zst?");
    CliRun hermeticReport = f.adminApi("admin", "report", main2.jobId());
    assertThat(hermeticReport.out()).contains("This job restored nothing (it reads no scope: hermetic).");

    CliRun reset = f.adminApi("admin", "policy", "reset", f.owner);
    assertThat(reset.out()).contains("hermetic").contains("(defaults)");
  }

  @Test
  void adminCallsWithoutTheAdminTokenAreRefusedAndCounted() throws Exception {
    double before = denied();
    HttpResponse<String> answer =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(worker.url().resolve("/v1/admin/owners/gong-1/policy"))
                    .header("Authorization", "Bearer " + worker.jobToken(dev.ephemera.event.Ulid.next()))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(answer.statusCode()).isEqualTo(401);
    assertThat(denied()).isEqualTo(before + 1);
    CliRun cli = RunningWorker.run("admin", "sets", "--url", worker.url().toString(), "--admin-token", "x".repeat(20));
    assertThat(cli.exit()).isEqualTo(3);
    assertThat(cli.err()).contains("HTTP 401");
    CliRun bad = new Fixture(worker, 1, tmp).adminApi("admin", "policy", "set", "gong-1", "--quota", "lots");
    assertThat(bad.exit()).isEqualTo(64);
  }

  /** {@code ephemera_denied_total{reason="admin_token"}} as {@code /metrics} shows it. */
  private double denied() throws Exception {
    String metrics =
        HttpClient.newHttpClient()
            .send(HttpRequest.newBuilder(worker.url().resolve("/metrics")).build(), HttpResponse.BodyHandlers.ofString())
            .body();
    return metrics.lines()
        .filter(l -> l.startsWith("ephemera_denied_total{") && l.contains("reason=\"admin_token\""))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .sum();
  }

  @Test
  void invalidatingTheHeadMovesItBackAndTheInvalidSetIsNeverStagedNorDownloadedAndAReplayChangesNothing()
      throws Exception {
    Fixture f = new Fixture(worker, 5102, tmp);
    String first = f.capture("feature", f.tree("one", 100_000, 2));
    String second = f.capture("feature", f.tree("two", 100_000, 3));
    assertThat(f.head(Fixture.SET, "branch:feature")).isEqualTo(second);
    assertThat(f.status(first)).isEqualTo("superseded");
    String link = Fixture.JSON.readTree(f.adminApi("admin", "sets", "show", second, "--json").out())
        .get("download_url").asText();
    assertThat(get(link)).isEqualTo(200);

    try (TopicRecorder control = new TopicRecorder(worker.bootstrap(), List.of(worker.topic(Topics.CONTROL)))) {
      CliRun run = f.adminKafka("admin", "invalidate", "--owner", f.owner, "--set", second,
          "--reason", "built with a broken rustc", "--requested-by", "test");
      assertThat(run.exit()).as(run.err()).isZero();
      assertThat(run.out()).contains("published ephemera.invalidate");
      JsonNode invalidated = f.awaitLifecycle("ephemera.invalidated", "set_id", second);
      assertThat(invalidated.get("head_now").asText()).isEqualTo(first);
      assertThat(invalidated.get("reason").asText()).isEqualTo("built with a broken rustc");
      assertThat(f.head(Fixture.SET, "branch:feature")).isEqualTo(first);
      assertThat(f.status(first)).isEqualTo("live");
      assertThat(f.status(second)).isEqualTo("invalidated");
      assertThat(get(link)).isEqualTo(410);

      // a later job is staged the previous set
      JobInfo later = f.push("feature");
      f.started(later);
      assertThat(f.awaitLifecycle("ephemera.staged", "job_id", later.jobId()).get("set_id").asText()).isEqualTo(first);

      // replaying the control topic (the same record again) changes nothing
      ConsumerRecord<String, byte[]> sent = control.await(r -> true);
      worker.publishRaw(Topics.CONTROL, sent.key(), sent.value());
      // a marker behind it on the same partition (same owner key): once it is applied, the replay was too
      JobInfo marker = f.push("feature");
      f.started(marker);
      f.awaitLifecycle("ephemera.staged", "job_id", marker.jobId());
      assertThat(f.outputs("ephemera.invalidated", "set_id", second)).hasSize(1);
      assertThat(f.head(Fixture.SET, "branch:feature")).isEqualTo(first);
      assertThat(f.status(first)).isEqualTo("live");
      List<dev.ephemera.catalog.InvalidationRow> recorded =
          worker.app().catalog().inTransaction(tx -> tx.invalidations().forOwner(f.owner));
      assertThat(recorded).hasSize(1);
      assertThat(recorded.get(0).requestedBy()).isEqualTo("test (ephemera admin invalidate)");
      assertThat(recorded.get(0).setsAffected()).isEqualTo(1);
    }

    // invalidating the last valid set removes the head: nothing is staged any more
    CliRun all = f.adminKafka("admin", "invalidate", "--owner", f.owner, "--name", Fixture.SET,
        "--scope", "branch:feature", "--reason", "start over");
    assertThat(all.exit()).as(all.err()).isZero();
    f.awaitLifecycle("ephemera.invalidated", "set_id", first);
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> f.head(Fixture.SET, "branch:feature") == null);
    JobInfo after = f.push("feature");
    f.started(after);
    CliRun miss = worker.cli(after.jobId(), "restore", Fixture.SET, "--strict");
    assertThat(miss.exit()).as(miss.err()).isEqualTo(2);
  }

  @Test
  void replayOfATimeRangeInvalidatesWhatTheJobsCompletedInItCapturedAndADryRunNothing() throws Exception {
    Fixture f = new Fixture(worker, 5103, tmp);
    String before = f.capture("before", f.tree("before", 50_000, 4));
    Thread.sleep(20); // record timestamps are in milliseconds: keep the range edges apart
    Instant from = Instant.now();
    String inRange = f.capture("broken", f.tree("broken", 50_000, 5));
    String inRange2 = f.capture("broken2", f.tree("broken2", 50_000, 6));
    Instant to = Instant.now();
    Thread.sleep(20);
    String after = f.capture("after", f.tree("after", 50_000, 7));
    String other = new Fixture(worker, 5104, tmp).capture("broken", f.tree("other", 50_000, 8));

    // the dry run finds the broker and the topic prefix in the environment, as the worker's settings would
    CliRun dry = RunningWorker.runWith(
        java.util.Map.of("EPHEMERA_KAFKA_BOOTSTRAP", worker.bootstrap(), "EPHEMERA_KAFKA_TOPIC_PREFIX", worker.topic("")),
        "admin", "replay", "--from", from.toString(), "--to", to.toString(), "--owner", f.owner, "--invalidate");
    assertThat(dry.exit()).as(dry.err()).isZero();
    assertThat(dry.out()).contains("2 job.completed of 1 owners").contains("dry run: would publish 1");
    String jobOfInRange = worker.app().catalog().inTransaction(tx -> tx.sets().find(inRange).orElseThrow().createdByJob());
    assertThat(dry.out()).contains(jobOfInRange);
    CliRun noAction = f.adminKafka("admin", "replay", "--from", from.toString());
    assertThat(noAction.exit()).isEqualTo(64);

    CliRun run = f.adminKafka("admin", "replay", "--from", from.toString(), "--to", to.toString(),
        "--owner", f.owner, "--invalidate", "--execute", "--reason", "toolchain image broken");
    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out()).contains("published ephemera.invalidate").contains("(2 jobs)");
    f.awaitLifecycle("ephemera.invalidated", "set_id", inRange);
    f.awaitLifecycle("ephemera.invalidated", "set_id", inRange2);
    assertThat(f.status(inRange)).isEqualTo("invalidated");
    assertThat(f.status(inRange2)).isEqualTo("invalidated");
    assertThat(f.status(before)).isEqualTo("live");
    assertThat(f.status(after)).isEqualTo("live");
    assertThat(f.status(other)).as("another owner's set in the range, excluded by --owner").isEqualTo("live");
    assertThat(f.head(Fixture.SET, "branch:broken")).isNull();
  }

  private static int get(String url) throws Exception {
    return HttpClient.newHttpClient()
        .send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }
}
