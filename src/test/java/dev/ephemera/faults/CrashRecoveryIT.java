package dev.ephemera.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ephemera.dev.EmbeddedPostgresServer;
import dev.ephemera.dev.StandaloneKafka;
import dev.ephemera.event.Topics;
import dev.ephemera.testing.RealServices;
import dev.ephemera.testing.RunningWorker;
import dev.ephemera.testing.Supervisor;
import dev.ephemera.testing.TestServices;
import dev.ephemera.testing.TopicRecorder;
import dev.ephemera.testing.WorkerMain;
import dev.ephemera.worker.Faults;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Exactly-once effects under crashes, tested rather than assumed: workers are separate JVMs stopped dead
 * ({@code Runtime.halt} at the most dangerous points, or SIGKILL) and restarted by a supervisor while jobs keep running;
 * PostgreSQL and the broker are stopped and started under load. After recovery {@link Invariants} must hold.
 */
@ExtendWith(RealServices.class)
class CrashRecoveryIT {
  @TempDir Path tmp;

  private TopicRecorder outputs(Map<String, String> s) {
    String p = s.get("kafka.topic-prefix");
    return new TopicRecorder(s.get("kafka.bootstrap"), List.of(p + Topics.USED, p + Topics.LIFECYCLE, p + Topics.DLQ));
  }

  private void runAndCheck(TestServices services, Map<String, String> s, List<String> crashes, int owners, int jobs)
      throws Exception {
    try (Supervisor worker = new Supervisor(s, crashes, tmp.resolve("worker.log"));
        TopicRecorder outputs = outputs(s);
        Workload workload = new Workload(s, tmp);
        S3Client s3 = services.s3Client()) {
      worker.awaitReady(Duration.ofSeconds(90));
      workload.run(owners, jobs);
      Invariants.await(s, s3, workload.inputIds, outputs);
      assertThat(worker.exits()).as(Files.readString(tmp.resolve("worker.log"))).contains(WorkerMain.CRASHED);
    }
  }

  @Test
  void aWorkerKilledBetweenTheDatabaseCommitAndTheOffsetCommitAppliesNothingTwice(TestServices services)
      throws Exception {
    Map<String, String> s = RunningWorker.settingsFor(services, "crash-apply");
    runAndCheck(services, s, List.of(Faults.AFTER_APPLY + ":7", Faults.AFTER_APPLY + ":15"), 3, 5);
  }

  @Test
  void aWorkerKilledBetweenPublishingAndMarkingTheOutboxRepublishesTheSameEventIds(TestServices services)
      throws Exception {
    Map<String, String> s = RunningWorker.settingsFor(services, "crash-send");
    runAndCheck(services, s, List.of(Faults.AFTER_SEND + ":3", Faults.AFTER_SEND + ":4"), 3, 5);
  }

  @Test
  void aWorkerKilledBeforeVerifyingARegistrationLeavesItToTheNextStartOrTheJobsCompletion(TestServices services)
      throws Exception {
    Map<String, String> s = RunningWorker.settingsFor(services, "crash-verify");
    runAndCheck(services, s, List.of(Faults.BEFORE_VERIFY + ":2", Faults.BEFORE_VERIFY + ":6"), 3, 5);
  }

  @Test
  void twoReplicasRebalancedMidStreamWithOneKilledKeepEveryGuarantee(TestServices services) throws Exception {
    Map<String, String> s = RunningWorker.settingsFor(services, "replicas");
    Map<String, String> second = new LinkedHashMap<>(s);
    int port = RunningWorker.freePort();
    second.put("http.port", Integer.toString(port));
    try (Supervisor first = new Supervisor(s, List.of(), tmp.resolve("first.log"));
        TopicRecorder outputs = outputs(s);
        Workload workload = new Workload(s, tmp);
        S3Client s3 = services.s3Client()) {
      first.awaitReady(Duration.ofSeconds(90));
      CompletableFuture<Void> load =
          CompletableFuture.runAsync(
              () -> {
                try {
                  workload.run(4, 6);
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      Thread.sleep(1500);
      try (Supervisor replica = new Supervisor(second, List.of(), tmp.resolve("second.log"))) {
        replica.awaitReady(Duration.ofSeconds(90));
        Thread.sleep(1500);
        first.kill();
        load.get();
        Invariants.await(s, s3, workload.inputIds, outputs);
      }
      assertThat(first.exits()).isNotEmpty();
    }
  }

  @Test
  void postgresRestartedUnderLoadLosesNothing(TestServices services) throws Exception {
    int pgPort = RunningWorker.freePort();
    Path data = tmp.resolve("pg");
    Map<String, String> s = RunningWorker.settingsFor(services, "pg-restart");
    EmbeddedPostgresServer pg = EmbeddedPostgresServer.start(data, pgPort);
    try (var c = DriverManager.getConnection(pg.jdbcUrl("postgres"), "postgres", "postgres");
        var st = c.createStatement()) {
      st.execute("create database ephemera");
    }
    s.put("db.url", pg.jdbcUrl("ephemera"));
    s.put("db.user", EmbeddedPostgresServer.USER);
    s.put("db.password", EmbeddedPostgresServer.PASSWORD);
    try (Supervisor worker = new Supervisor(s, List.of(), tmp.resolve("worker.log"));
        TopicRecorder outputs = outputs(s);
        Workload workload = new Workload(s, tmp);
        S3Client s3 = services.s3Client()) {
      worker.awaitReady(Duration.ofSeconds(90));
      CompletableFuture<Void> load =
          CompletableFuture.runAsync(
              () -> {
                try {
                  workload.run(3, 5);
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      Thread.sleep(2000);
      pg.close();
      Thread.sleep(3000);
      pg = EmbeddedPostgresServer.start(data, pgPort);
      load.get();
      Invariants.await(s, s3, workload.inputIds, outputs);
    } finally {
      pg.close();
    }
  }

  @Test
  void theBrokerStoppedAndStartedAgainLosesNothing(TestServices services) throws Exception {
    int kafkaPort = RunningWorker.freePort();
    int controllerPort = RunningWorker.freePort();
    Path data = tmp.resolve("kafka");
    StandaloneKafka kafka = StandaloneKafka.start(data, kafkaPort, controllerPort);
    Map<String, String> s = RunningWorker.settingsFor(services, "broker-restart");
    s.put("kafka.bootstrap", kafka.bootstrapServers());
    try (Supervisor worker = new Supervisor(s, List.of(), tmp.resolve("worker.log"));
        TopicRecorder outputs = outputs(s);
        Workload workload = new Workload(s, tmp);
        S3Client s3 = services.s3Client()) {
      worker.awaitReady(Duration.ofSeconds(90));
      workload.run(2, 3);
      kafka.close();
      Thread.sleep(3000);
      kafka = StandaloneKafka.start(data, kafkaPort, controllerPort);
      workload.run(2, 3);
      Invariants.await(s, s3, workload.inputIds, outputs);
    } finally {
      kafka.close();
    }
  }
}
