package dev.ephemera.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ephemera.auth.DownloadLinks;
import dev.ephemera.auth.Signer;
import dev.ephemera.catalog.Catalog;
import dev.ephemera.catalog.SetRow;
import dev.ephemera.catalog.UseKind;
import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.DeclaredSet;
import dev.ephemera.event.EventCodec;
import dev.ephemera.event.JobCompleted;
import dev.ephemera.event.JobInfo;
import dev.ephemera.event.JobStarted;
import dev.ephemera.event.Repo;
import dev.ephemera.event.Topics;
import dev.ephemera.metrics.Meters;
import dev.ephemera.testing.PostgresEndpoint;
import dev.ephemera.testing.RealServices;
import dev.ephemera.testing.TestServices;
import dev.ephemera.worker.EventApplier.Applied;
import dev.ephemera.worker.EventApplier.DeadLettered;
import dev.ephemera.worker.EventApplier.Duplicate;
import dev.ephemera.worker.EventApplier.Incoming;
import dev.ephemera.worker.EventApplier.Outcome;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The set-based application of a partition batch ({@link JobBatch}) against real PostgreSQL: one batch holding records
 * that depend on each other (a job started and completed in it, a later job reading the head that completion moved, a
 * second completion, an unknown job's completion, a completion of a job that restored sets, duplicates and a reused id
 * inside the batch, a poison record) ends in exactly the catalog state and outbox, in the same order, as applying the
 * same records one at a time with the per-event statements.
 */
@ExtendWith(RealServices.class)
class JobBatchIT {
  private static final ObjectMapper JSON = EventCodec.newMapper();
  private static final Instant T0 = Instant.parse("2026-11-30T10:00:00Z");
  private static final String ZERO = "0".repeat(64);
  private final EventCodec codec = new EventCodec();

  private EventApplier applier(Catalog catalog) {
    Meters meters = new Meters(new SimpleMeterRegistry());
    return new EventApplier(
        catalog,
        codec,
        new DownloadLinks(
            URI.create("http://localhost:1"),
            new Signer("test-signing-key-0123456789abcdef0123".getBytes(StandardCharsets.UTF_8), Clock.systemUTC()),
            Duration.ofDays(1)),
        new Control(Clock.systemUTC(), meters, gc -> {}),
        "urn:test",
        Clock.systemUTC(),
        meters,
        EventApplier.Settler.NONE);
  }

  private static JobInfo job(String jobId, String owner, String branch) {
    return new JobInfo(
        jobId, owner, new Repo("org", "repo", 7), "a".repeat(40), branch, JobInfo.Trigger.PUSH, null, false, "main",
        "default", "build", List.of(new DeclaredSet("deps", List.of("/deps/**/*"), DeclaredSet.When.SUCCESS)));
  }

  private Incoming record(long offset, byte[] value) {
    return new Incoming(Topics.BUILDOMAT_JOBS, 0, offset, "gong-1".getBytes(StandardCharsets.UTF_8), value);
  }

  private byte[] encode(CloudEvent e) {
    return codec.encode(e);
  }

  /** The records of the batch, with fixed ids so that two runs can be compared. */
  private List<Incoming> batch() throws IOException {
    JobInfo j1 = job("01JBATCHJ0B0000000000000J1", "gong-1", "b");
    JobInfo j2 = job("01JBATCHJ0B0000000000000J2", "gong-1", "b");
    JobInfo j3 = job("01JBATCHJ0B0000000000000J3", "gong-1", "b");
    JobInfo j4 = job("01JBATCHJ0B0000000000000J4", "gong-2", "b");
    Instant done = T0.plusSeconds(60);
    CloudEvent start1 = withId(CloudEvent.of("urn:test", JobStarted.of(j1)), "01JBATCHEVT000000000000S01");
    CloudEvent done1 =
        withId(CloudEvent.of("urn:test", JobCompleted.of(j1, JobCompleted.Result.SUCCESS, done)), "01JBATCHEVT000000000000C01");
    CloudEvent start2 = withId(CloudEvent.of("urn:test", JobStarted.of(j2)), "01JBATCHEVT000000000000S02");
    CloudEvent done1Again =
        withId(
            CloudEvent.of("urn:test", JobCompleted.of(j1, JobCompleted.Result.FAILURE, done.plusSeconds(5))),
            "01JBATCHEVT000000000000C1B");
    CloudEvent done3 =
        withId(
            CloudEvent.of("urn:test", JobCompleted.of(j3, JobCompleted.Result.FAILURE, done)), "01JBATCHEVT000000000000C03");
    CloudEvent done4 =
        withId(
            CloudEvent.of("urn:test", JobCompleted.of(j4, JobCompleted.Result.SUCCESS, done)), "01JBATCHEVT000000000000C04");
    CloudEvent reused = withId(CloudEvent.of("urn:test", JobStarted.of(j3)), "01JBATCHEVT000000000000S02");
    List<Incoming> out = new ArrayList<>();
    out.add(record(10, encode(start1)));
    out.add(record(11, encode(start1))); // a duplicate within the batch
    out.add(record(12, "not json at all".getBytes(StandardCharsets.UTF_8))); // poison, in the middle
    out.add(record(13, encode(done1))); // completes the job started above: its pending set becomes head
    out.add(record(14, encode(start2))); // reads the head the completion above moved
    out.add(record(15, encode(reused))); // start2's id with other content
    out.add(record(16, encode(done1Again))); // a second completion of j1: nothing pending any more
    out.add(record(17, encode(done3))); // a job never started: its row is written, its pending set discarded
    out.add(record(18, encode(done4))); // a job that restored a set: ephemera.used
    out.add(record(19, encode(start2))); // start2 again, after the reuse
    return out;
  }

  private CloudEvent withId(CloudEvent event, String id) throws IOException {
    var tree = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(codec.encode(event));
    tree.put("id", id);
    try {
      return codec.decode(JSON.writeValueAsBytes(tree));
    } catch (dev.ephemera.event.InvalidEventException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Owner gong-1: live set S0 at branch:b, pending P1 by j1 and P3 by j3; gong-2: live S4 restored by job j4. */
  private void seed(Catalog catalog) {
    catalog.useTransaction(
        tx -> {
          live(tx, "01JBATCHSET0000000000000S0", "gong-1", "01JBATCHJ0B0000000000000J0");
          live(tx, "01JBATCHSET0000000000000S4", "gong-2", "01JBATCHJ0B0000000000000J5");
          tx.sets()
              .insertPending(
                  SetRow.pending("01JBATCHSET0000000000000P1", "gong-1", "deps", "branch:b", "01JBATCHJ0B0000000000000J1",
                      T0, "/deps", "success", ZERO, 0, ZERO, 0, 0, 0, "{}"),
                  List.of());
          tx.sets()
              .insertPending(
                  SetRow.pending("01JBATCHSET0000000000000P3", "gong-1", "deps", "branch:b", "01JBATCHJ0B0000000000000J3",
                      T0, "/deps", "success", ZERO, 0, ZERO, 0, 0, 0, "{}"),
                  List.of());
          tx.jobs().upsertStarted(applier(catalog).jobRow(job("01JBATCHJ0B0000000000000J4", "gong-2", "b"),
              EventApplier.ownerPolicy(dev.ephemera.catalog.OwnerPolicyRow.defaults("gong-2")), T0));
          tx.uses().record("01JBATCHJ0B0000000000000J4", "01JBATCHSET0000000000000S4", UseKind.STAGED, "deps",
              "branch:b", 0, T0.plusSeconds(1));
          tx.uses().record("01JBATCHJ0B0000000000000J4", "01JBATCHSET0000000000000S4", UseKind.RESTORED, "deps",
              "branch:b", 0, T0.plusSeconds(2));
        });
  }

  private static void live(dev.ephemera.catalog.CatalogTx tx, String setId, String owner, String job) {
    tx.sets()
        .insertPending(
            SetRow.pending(setId, owner, "deps", "branch:b", job, T0.minusSeconds(600), "/deps", "success", ZERO, 0, ZERO,
                0, 0, 0, "{}"),
            List.of());
    tx.sets().markLive(setId, T0.minusSeconds(300));
  }

  /** What a run left: every table the applier writes, without generated ids and wall-clock times. */
  private static Map<String, List<String>> state(Catalog catalog) {
    return catalog.jdbi().withHandle(h -> {
      Map<String, List<String>> out = new java.util.LinkedHashMap<>();
      out.put("jobs", h.createQuery("""
          select concat_ws('|', job_id, owner, repo_owner, repo_name, repo_id, head_sha, head_branch, trigger,
                 pull_request, fork, default_branch, target, job_name, declared::text, write_scope,
                 read_scopes::text, started_at, completed_at, result)
          from jobs order by job_id""").mapTo(String.class).list());
      out.put("sets", h.createQuery("""
          select concat_ws('|', set_id, status, status_reason, completed_at, live_at is null) from sets order by set_id
          """).mapTo(String.class).list());
      out.put("heads", h.createQuery("select concat_ws('|', owner, name, scope, set_id, set_completed_at) from heads "
          + "order by owner, name, scope").mapTo(String.class).list());
      out.put("uses", h.createQuery("select concat_ws('|', job_id, set_id, kind, name, scope, fallback_level) from uses "
          + "order by job_id, set_id, kind").mapTo(String.class).list());
      out.put("processed", h.createQuery("""
          select concat_ws('|', event_id, type, digest, source_topic, source_partition, source_offset)
          from processed_events order by event_id""").mapTo(String.class).list());
      List<String> outbox = new ArrayList<>();
      for (var row : h.createQuery("select topic, key, payload, headers::text from outbox order by seq")
          .map((rs, ctx) -> new Object[] {rs.getString(1), rs.getString(2), rs.getBytes(3), rs.getString(4)})
          .list()) {
        outbox.add(row[0] + "|" + row[1] + "|" + describe((byte[]) row[2]) + "|" + row[3]);
      }
      out.put("outbox", outbox);
      return out;
    });
  }

  /** An outbox payload without its generated parts (event id, times, signed links). */
  private static String describe(byte[] payload) {
    try {
      JsonNode tree = JSON.readTree(payload);
      if (tree.has("reason")) { // a dead letter
        return "dlq " + tree.get("offset") + " " + tree.get("reason").asText();
      }
      JsonNode data = tree.get("data").deepCopy();
      strip(data);
      return tree.get("type").asText() + " " + tree.get("subject").asText() + " " + data;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void strip(JsonNode node) {
    if (node instanceof com.fasterxml.jackson.databind.node.ObjectNode o) {
      o.remove(List.of("download_url"));
      o.elements().forEachRemaining(JobBatchIT::strip);
    } else if (node.isArray()) {
      node.elements().forEachRemaining(JobBatchIT::strip);
    }
  }

  @Test
  void aBatchOfDependentRecordsEndsAsAppliedOneAtATime(TestServices services) throws Exception {
    List<Incoming> batch = batch();
    List<Outcome> setBased;
    Map<String, List<String>> setBasedState;
    PostgresEndpoint a = services.freshDatabase();
    try (Catalog catalog = Catalog.open(a.jdbcUrl(), a.user(), a.password())) {
      seed(catalog);
      setBased = applier(catalog).applyAll(batch, true);
      setBasedState = state(catalog);
      // the same records again (a redelivery of the whole batch): all duplicates, nothing changes
      List<Outcome> again = applier(catalog).applyAll(batch, true);
      assertThat(again.stream().map(o -> o.getClass().getSimpleName()).toList())
          .containsExactly("Duplicate", "Duplicate", "DeadLettered", "Duplicate", "Duplicate", "DeadLettered",
              "Duplicate", "Duplicate", "Duplicate", "Duplicate");
      Map<String, List<String>> afterRedelivery = state(catalog);
      // the reused id is dead-lettered again on redelivery, as with the per-event path; nothing else is added
      assertThat(afterRedelivery.get("outbox")).hasSize(setBasedState.get("outbox").size() + 1);
      assertThat(afterRedelivery.get("outbox").get(afterRedelivery.get("outbox").size() - 1)).contains("already applied");
      afterRedelivery.remove("outbox");
      Map<String, List<String>> before = new java.util.LinkedHashMap<>(setBasedState);
      before.remove("outbox");
      assertThat(afterRedelivery).isEqualTo(before);
    }
    List<Outcome> oneByOne;
    Map<String, List<String>> oneByOneState;
    PostgresEndpoint b = services.freshDatabase();
    try (Catalog catalog = Catalog.open(b.jdbcUrl(), b.user(), b.password())) {
      seed(catalog);
      oneByOne = applier(catalog).applyAll(batch, false);
      oneByOneState = state(catalog);
    }

    assertThat(setBased.stream().map(o -> o.getClass().getSimpleName()).toList())
        .containsExactly("Applied", "Duplicate", "DeadLettered", "Applied", "Applied", "DeadLettered", "Applied",
            "Applied", "Applied", "Duplicate");
    assertThat(setBased).isEqualTo(oneByOne);
    assertThat(setBasedState).isEqualTo(oneByOneState);

    // and what that state is, spelled out
    assertThat(setBased.get(4)).isInstanceOf(Applied.class);
    assertThat(((Applied) setBased.get(4)).decisions().toString()).contains("01JBATCHSET0000000000000P1");
    assertThat(setBased.get(5)).isInstanceOf(DeadLettered.class);
    assertThat(((DeadLettered) setBased.get(5)).reason()).contains("already applied with different content");
    assertThat(setBased.get(9)).isInstanceOf(Duplicate.class);
    assertThat(setBasedState.get("heads"))
        .anyMatch(h -> h.startsWith("gong-1|deps|branch:b|01JBATCHSET0000000000000P1|"));
    assertThat(setBasedState.get("sets"))
        .anyMatch(s -> s.startsWith("01JBATCHSET0000000000000S0|superseded"))
        .anyMatch(s -> s.startsWith("01JBATCHSET0000000000000P3|discarded|job failed"));
    assertThat(setBasedState.get("jobs"))
        .anyMatch(j -> j.startsWith("01JBATCHJ0B0000000000000J1|") && j.endsWith("|success"))
        .anyMatch(j -> j.startsWith("01JBATCHJ0B0000000000000J3|") && j.endsWith("|failure"));
    assertThat(setBasedState.get("outbox").stream().map(o -> o.split("\\|")[2].split(" ")[0]).toList())
        .containsExactly("ephemera.staged", "dlq", "ephemera.captured", "ephemera.staged", "dlq",
            "ephemera.discarded", "ephemera.used");
  }

  @Test
  void aBatchThatFailsLeavesNothingBehind(TestServices services) throws Exception {
    PostgresEndpoint a = services.freshDatabase();
    try (Catalog catalog = Catalog.open(a.jdbcUrl(), a.user(), a.password())) {
      seed(catalog);
      List<Incoming> batch = new ArrayList<>(batch());
      // a use of a set that does not exist violates a foreign key at the very end of the batch's writes
      JobInfo ghost = job("01JBATCHJ0B0000000000000J9", "gong-9", "b");
      catalog.useTransaction(tx -> tx.handle().execute(
          "insert into heads (owner, name, scope, set_id, set_completed_at, moved_at) "
              + "select 'gong-9', 'deps', 'branch:b', set_id, now(), now() from sets where set_id = ?",
          "01JBATCHSET0000000000000S4"));
      catalog.useTransaction(tx -> tx.handle().execute(
          "update sets set status = 'live' where set_id = ?", "01JBATCHSET0000000000000S4"));
      Map<String, List<String>> seeded = state(catalog);
      catalog.useTransaction(tx -> tx.handle().execute(
          "alter table uses add constraint no_ghosts check (job_id <> '01JBATCHJ0B0000000000000J9')"));
      batch.add(record(20, encode(CloudEvent.of("urn:test", JobStarted.of(ghost)))));
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> applier(catalog).applyAll(batch, true))
          .isInstanceOf(RuntimeException.class);
      assertThat(state(catalog)).isEqualTo(seeded);
    }
  }
}
