package dev.ephemera.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ephemera.testing.TopicRecorder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.header.Header;
import org.awaitility.Awaitility;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * What must hold after any crash and recovery (issue 5): every input event applied exactly once, every output event
 * published at least once under its one id, no set live without all its chunks, no pending set outliving its job, no
 * head behind a newer valid set of its key.
 */
final class Invariants {
  private Invariants() {}

  static void await(Map<String, String> settings, S3Client s3, List<String> inputIds, TopicRecorder outputs) {
    Awaitility.await()
        .atMost(Duration.ofSeconds(120))
        .pollInterval(Duration.ofMillis(250))
        .ignoreExceptions()
        .untilAsserted(() -> check(settings, s3, inputIds, outputs));
  }

  static void check(Map<String, String> settings, S3Client s3, List<String> inputIds, TopicRecorder outputs)
      throws SQLException {
    try (Connection c =
        DriverManager.getConnection(settings.get("db.url"), settings.get("db.user"), settings.get("db.password"))) {
      // every input event applied, and (primary key) at most once
      Set<String> applied = new HashSet<>(strings(c, "select event_id from processed_events where type <> 'dlq'"));
      assertThat(applied).as("applied input events").containsAll(inputIds);
      assertThat(applied).hasSize(new HashSet<>(inputIds).size());

      // every output event published, under the id the outbox gave it
      assertThat(count(c, "select count(*) from outbox where published_at is null")).as("unpublished outbox rows").isZero();
      Set<String> seen = new HashSet<>();
      outputs.all().forEach(r -> {
        Header id = r.headers().lastHeader("ce_id");
        if (id != null) {
          seen.add(new String(id.value(), StandardCharsets.UTF_8));
        }
      });
      assertThat(seen).as("output event ids seen on Kafka").containsAll(strings(c, "select event_id from outbox"));

      // no pending set outlives its job
      assertThat(
              strings(
                  c,
                  "select s.set_id from sets s join jobs j on j.job_id = s.created_by_job"
                      + " where s.status = 'pending' and j.completed_at is not null"))
          .as("pending sets of completed jobs")
          .isEmpty();
      // nor does a registration: a completion waits for them, and one that came after is dropped
      assertThat(
              strings(
                  c,
                  "select r.set_id from registrations r join jobs j on j.job_id = r.job_id"
                      + " where j.completed_at is not null"))
          .as("registrations of completed jobs")
          .isEmpty();

      // every head names the newest valid set of its key, and that set is live
      assertThat(
              strings(
                  c,
                  "select h.owner || ' ' || h.name || ' ' || h.scope from heads h join sets s on s.set_id = h.set_id"
                      + " where s.status <> 'live' or exists (select 1 from sets n where n.owner = h.owner"
                      + " and n.name = h.name and n.scope = h.scope and n.status in ('live', 'superseded')"
                      + " and (n.completed_at, n.set_id) > (s.completed_at, s.set_id))"))
          .as("heads behind a newer valid set")
          .isEmpty();
      assertThat(count(c, "select count(*) from sets where status = 'live' and set_id not in (select set_id from heads)"))
          .as("live sets no head names")
          .isZero();

      // no set is live without all its chunks in the store
      Set<String> stored = new HashSet<>();
      String bucket = settings.get("s3.bucket");
      for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix("chunks/")).contents()) {
        stored.add(o.key().substring("chunks/".length()));
      }
      assertThat(stored)
          .as("chunks of live and superseded sets")
          .containsAll(
              strings(
                  c,
                  "select distinct sc.chunk_sha256 from set_chunks sc join sets s on s.set_id = sc.set_id"
                      + " where s.status in ('live', 'superseded')"));
    }
  }

  private static List<String> strings(Connection c, String sql) throws SQLException {
    List<String> out = new ArrayList<>();
    try (var s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  private static long count(Connection c, String sql) throws SQLException {
    try (var s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
