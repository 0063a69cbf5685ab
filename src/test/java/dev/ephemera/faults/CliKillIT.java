package dev.ephemera.faults;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ephemera.cli.Main;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The job side killed at the worst moment (SIGKILL of the real CLI process): a persist killed mid-upload leaves no set
 * at all, and the next persist uploads only what is missing; a restore killed mid-way leaves the target as it was, and
 * the next restore sweeps what the dead one left and succeeds.
 */
@ExtendWith(RealServices.class)
class CliKillIT {
  @TempDir Path tmp;

  private static JobInfo job(String id) {
    return new JobInfo(
        id, "gong-31", new Repo("o", "r", 31), "e".repeat(40), "topic", JobInfo.Trigger.PULL_REQUEST, 5, false,
        "main", "default", "build", List.of());
  }

  private Process cli(RunningWorker worker, String job, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(Main.class.getName());
    cmd.addAll(List.of(args));
    cmd.addAll(List.of("--url", worker.url().toString(), "--token", worker.jobToken(job), "--job", job));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.redirectOutput(tmp.resolve("cli-" + System.nanoTime() + ".log").toFile());
    pb.environment().put("LC_ALL", "C.UTF-8");
    return pb.start();
  }

  @Test
  void aKilledPersistLeavesNoSetAndAKilledRestoreLeavesTheTargetAsItWas(TestServices services) throws Exception {
    try (RunningWorker worker = RunningWorker.start(services, "kill");
        S3Client s3 = services.s3Client()) {
      String bucket = worker.settings().get("s3.bucket");
      Path big = Files.createDirectories(tmp.resolve("work/big"));
      Random random = new Random(1);
      byte[] block = new byte[16 << 20];
      for (int i = 0; i < 10; i++) {
        random.nextBytes(block);
        Files.write(big.resolve("part-" + i + ".bin"), block);
      }

      String a = Ulid.next();
      worker.publish(CloudEvent.of("urn:test", JobStarted.of(job(a))));
      Process persist = cli(worker, a, "persist", "big", big.toString());
      Awaitility.await()
          .atMost(Duration.ofSeconds(120))
          .pollInterval(Duration.ofMillis(20))
          .ignoreExceptions()
          .until(() -> s3.listObjectsV2(b -> b.bucket(bucket).prefix("chunks/")).keyCount() >= 2);
      persist.destroyForcibly().waitFor();
      Integer sets =
          worker.app().catalog().jdbi().withHandle(h ->
              h.createQuery("select count(*) from sets where created_by_job = :j").bind("j", a).mapTo(Integer.class).one());
      assertThat(sets).as("a killed persist registers nothing").isZero();

      CliRun again = worker.cli(a, "persist", "big", big.toString(), "--json");
      assertThat(again.exit()).as(again.err()).isZero();
      JsonNode result = EventCodec.newMapper().readTree(again.out());
      // at least the 2 chunks stored before the kill are reused (uploads in flight then may have completed too)
      assertThat(result.get("chunks_uploaded").asLong())
          .as("only what the killed persist had not uploaded")
          .isLessThanOrEqualTo(result.get("chunks").asLong() - 2);
      worker.publish(CloudEvent.of("urn:test", JobCompleted.of(job(a), JobCompleted.Result.SUCCESS, Instant.now())));
      try {
        worker.outputs().await(r -> new String(r.value()).contains("ephemera.captured") && new String(r.value()).contains(a));
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        String state = worker.app().catalog().jdbi().withHandle(h -> h.createQuery(
            "select string_agg(set_id || ' ' || status || ' ' || created_by_job, '; ') from sets").mapTo(String.class).one()
            + " | jobs: " + h.createQuery("select string_agg(job_id || ' ' || coalesce(result, '-'), '; ') from jobs").mapTo(String.class).one()
            + " | outbox unpublished: " + h.createQuery("select count(*) from outbox where published_at is null").mapTo(String.class).one()
            + " | outputs: " + worker.outputs().all().size());
        throw new AssertionError("no captured event for " + a + ": " + state, e);
      }

      String b = Ulid.next();
      worker.publish(CloudEvent.of("urn:test", JobStarted.of(job(b))));
      Path reference = tmp.resolve("reference");
      Files.move(big, reference);
      Process restore = cli(worker, b, "restore", "big");
      Path parent = tmp.resolve("work");
      Awaitility.await()
          .atMost(Duration.ofSeconds(120))
          .pollInterval(Duration.ofMillis(10))
          .until(() -> staging(parent).size() == 1 && sizeOf(staging(parent).get(0)) > (8 << 20));
      restore.destroyForcibly().waitFor();
      assertThat(Files.exists(big)).as("a killed restore leaves the target as it was: absent").isFalse();
      assertThat(staging(parent)).as("the dead restore's staging directory").hasSize(1);

      CliRun restored = worker.cli(b, "restore", "big");
      assertThat(restored.exit()).as(restored.err()).isZero();
      assertThat(staging(parent)).as("swept").isEmpty();
      for (int i = 0; i < 10; i++) {
        assertThat(Files.mismatch(reference.resolve("part-" + i + ".bin"), big.resolve("part-" + i + ".bin")))
            .isEqualTo(-1L);
      }
    }
  }

  private static List<Path> staging(Path parent) throws Exception {
    try (Stream<Path> s = Files.list(parent)) {
      return s.filter(p -> p.getFileName().toString().startsWith(".big.ephemera-staging-")).toList();
    }
  }

  private static long sizeOf(Path dir) throws Exception {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }
}
