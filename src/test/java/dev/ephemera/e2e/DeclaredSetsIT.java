package dev.ephemera.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.DeclaredSet;
import dev.ephemera.event.JobCompleted;
import dev.ephemera.event.JobInfo;
import dev.ephemera.event.JobStarted;
import dev.ephemera.event.Repo;
import dev.ephemera.event.Ulid;
import dev.ephemera.testing.RealServices;
import dev.ephemera.testing.RunningWorker;
import dev.ephemera.testing.RunningWorker.CliRun;
import dev.ephemera.testing.TestServices;
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
 * Sets declared in the job file travel in {@code job.started}: {@code persist --declared} keeps each with its own rules
 * and {@code when}; a failed job keeps only its {@code when = "always"} sets; {@code restore --all} brings back what was
 * staged.
 */
@ExtendWith(RealServices.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DeclaredSetsIT {
  private RunningWorker worker;
  @TempDir static Path tmp;

  @BeforeAll
  void start(TestServices services) throws Exception {
    worker = RunningWorker.start(services, "declared");
  }

  @AfterAll
  void stop() throws Exception {
    worker.close();
  }

  private JobInfo job(String id) {
    String registry = tmp.resolve("registry").toString();
    String target = tmp.resolve("target").toString();
    return new JobInfo(
        id,
        "gong-9",
        new Repo("o", "r", 9),
        "c".repeat(40),
        "topic",
        JobInfo.Trigger.PUSH,
        null,
        false,
        "main",
        "default",
        "build",
        List.of(
            new DeclaredSet("registry", List.of(registry + "/**/*", "!" + registry + "/src/*"), DeclaredSet.When.SUCCESS),
            new DeclaredSet("target", List.of(target + "/**/*"), DeclaredSet.When.ALWAYS)));
  }

  @Test
  void aFailedJobKeepsOnlyItsAlwaysSetsAndTheNextJobRestoresThem() throws Exception {
    Files.createDirectories(tmp.resolve("registry/src/x"));
    Files.createDirectories(tmp.resolve("registry/cache"));
    Files.writeString(tmp.resolve("registry/cache/a.crate"), "crate");
    Files.writeString(tmp.resolve("registry/src/x/lib.rs"), "excluded by the rule");
    Files.createDirectories(tmp.resolve("target/debug"));
    Files.writeString(tmp.resolve("target/debug/app"), "binary");

    String first = Ulid.next();
    worker.publish(CloudEvent.of("urn:test", JobStarted.of(job(first))));
    CliRun persist = worker.cli(first, "persist", "--declared");
    assertThat(persist.exit()).as(persist.err()).isZero();
    assertThat(persist.out()).contains("persist: registry:").contains("persist: target:");
    assertThat(persist.out()).contains("pending until the job completes");
    worker.publish(CloudEvent.of("urn:test", JobCompleted.of(job(first), JobCompleted.Result.FAILURE, Instant.now())));
    JsonNode discarded = awaitData("ephemera.discarded", first);
    assertThat(discarded.get("name").asText()).isEqualTo("registry");
    JsonNode captured = awaitData("ephemera.captured", first);
    assertThat(captured.get("name").asText()).isEqualTo("target");
    assertThat(captured.get("scope").asText()).isEqualTo("branch:topic");

    deleteTree(tmp.resolve("target"));
    String second = Ulid.next();
    worker.publish(CloudEvent.of("urn:test", JobStarted.of(job(second))));
    awaitData("ephemera.staged", second);
    CliRun restore = worker.cli(second, "restore", "--all");
    assertThat(restore.exit()).as(restore.err()).isZero();
    assertThat(Files.readString(tmp.resolve("target/debug/app"))).isEqualTo("binary");
    assertThat(restore.out()).doesNotContain("registry");
  }

  @Test
  void onlyTheSetWhoseEntryAllowsSecretsKeepsThem() throws Exception {
    Path allowed = tmp.resolve("docker-auth");
    Path denied = tmp.resolve("home");
    for (Path dir : List.of(allowed, denied)) {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve("config"), "kept");
      Files.writeString(dir.resolve(".netrc"), "machine example.com login me password secret");
    }
    String id = Ulid.next();
    JobInfo job =
        new JobInfo(id, "gong-9", new Repo("o", "r", 9), "c".repeat(40), "secrets", JobInfo.Trigger.PUSH, null, false,
            "main", "default", "build",
            List.of(
                new DeclaredSet("auth", List.of(allowed + "/**/*"), DeclaredSet.When.SUCCESS, true),
                new DeclaredSet("home", List.of(denied + "/**/*"), DeclaredSet.When.SUCCESS)));
    worker.publish(CloudEvent.of("urn:test", JobStarted.of(job)));

    CliRun persist = worker.cli(id, "persist", "--declared");
    assertThat(persist.exit()).as(persist.err()).isZero();
    assertThat(persist.out()).contains("persist: auth: 2 files").contains("persist: home: 1 files");
    assertThat(persist.err())
        .contains("persist: skipped " + denied.resolve(".netrc"))
        .contains("allow_secrets = true in its [[persist]] entry")
        .doesNotContain(allowed.resolve(".netrc").toString());
  }

  private JsonNode awaitData(String type, String job) {
    return worker.outputs().awaitEventData(type, "job_id", job);
  }

  private static void deleteTree(Path root) throws Exception {
    try (var walk = Files.walk(root)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
