package dev.ephemera.event;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The checks records make in their compact constructors, and what they derive. */
class EventDataTest {

  private static final String SHA = "0123456789abcdef".repeat(4);
  private static final Instant T = Instant.parse("2026-11-25T10:00:00Z");

  @Test
  void capturedRefusesAnUpperCaseSha256AndANegativeSize() {
    assertThatThrownBy(() -> new Captured(Ulid.next(), "gong-1", "target", Ulid.next(), "branch:main",
        SHA.toUpperCase(), 1, SHA, 1, 1, true)).hasMessageStartingWith("tar_sha256: not a sha256");
    assertThatThrownBy(() -> new Captured(Ulid.next(), "gong-1", "target", Ulid.next(), "branch:main",
        SHA, 1, SHA, -1, 1, true)).hasMessage("archive_size: must be >= 0, was -1");
  }

  @Test
  void usedSetRefusesARelativeRootAndARelativeDownloadUrl() {
    assertThatThrownBy(() -> new Used.UsedSet("target", Ulid.next(), "pr:12", 0, SHA, 1, SHA, 1, 1,
        "work/target", T, Ulid.next(), "https://e.example/x", null)).hasMessageStartingWith("root: must be an absolute path");
    assertThatThrownBy(() -> new Used.UsedSet("target", Ulid.next(), "pr:12", 0, SHA, 1, SHA, 1, 1,
        "/work/target", T, Ulid.next(), "/v1/sets/x", null)).hasMessageStartingWith("download_url: not an absolute URI");
  }

  @Test
  void scopesAreBranchOrPullRequestOnly() {
    assertThatThrownBy(() -> new Staged(Ulid.next(), "gong-1", "target", Ulid.next(), "main", 0))
        .hasMessageStartingWith("scope: not a scope");
    assertThatThrownBy(() -> new Staged(Ulid.next(), "gong-1", "target", Ulid.next(), "pr:0", 0))
        .hasMessageStartingWith("scope: not a scope");
    assertThat(new Staged(Ulid.next(), "gong-1", "target", Ulid.next(), "branch:feature/x", 2).scope())
        .isEqualTo("branch:feature/x");
  }

  @Test
  void aGcOfEveryOwnerHasTheStarSubjectAndKey() {
    Gc all = new Gc(null, null, "timer");

    assertThat(all.subject()).isEqualTo(Gc.ALL_OWNERS);
    assertThat(all.key()).isEqualTo(Gc.ALL_OWNERS);
    assertThatThrownBy(() -> new Gc("gong-1", -5L, "ops")).hasMessage("grace_seconds: must be >= 0, was -5");
  }

  @Test
  void lifecycleEventsAreKeyedByOwnerAndUsedByJob() {
    String job = Ulid.next();
    assertThat(new Discarded(job, "gong-7", "target", Ulid.next(), "pr:3", "job_failure").key()).isEqualTo("gong-7");
    assertThat(new Discarded(job, "gong-7", "target", Ulid.next(), "pr:3", "job_failure").subject()).isEqualTo(job);
    assertThat(new Used(job, "gong-7", List.of()).key()).isEqualTo(job);
    assertThat(new Evicted("gong-7", "target", Ulid.next(), "pr:3", Evicted.Reason.IDLE, 0).subject()).isEqualTo("gong-7");
  }

  @Test
  void aCloudEventRefusesDataOfAnotherTypeAndAForeignDataschema() {
    Gc gc = new Gc("gong-1", null, "ops");
    String id = Ulid.next();

    assertThatThrownBy(() -> new CloudEvent(id, "/ephemera/admin", EventType.INVALIDATE, T, "gong-1",
        EventType.INVALIDATE.dataschema(), gc)).hasMessageStartingWith("data: Gc is the data of ephemera.gc");
    assertThatThrownBy(() -> new CloudEvent(id, "/ephemera/admin", EventType.GC, T, "gong-1",
        "https://example.com/gc.json", gc)).hasMessageStartingWith("dataschema: must be");
    assertThatThrownBy(() -> new CloudEvent(id, "not a uri", EventType.GC, T, "gong-1",
        EventType.GC.dataschema(), gc)).hasMessageStartingWith("source: not a URI reference");
  }

  @Test
  void anInvalidateSelectorNeedsItsTimeRangeInOrder() {
    assertThat(Invalidate.Selector.all().matchesEverything()).isTrue();
    assertThat(new Invalidate.Selector("target", null, null, null, null, null).matchesEverything()).isFalse();
    assertThatThrownBy(() -> new Invalidate.Selector(null, null, null, null, T, T))
        .hasMessageStartingWith("created_before: must be after created_after");
  }

  @Test
  void anInvalidateSelectorCarriesAJobListThatOldSelectorsLeaveOut() {
    String a = Ulid.next();
    String b = Ulid.next();
    Invalidate.Selector jobs = new Invalidate.Selector(null, null, null, null, null, null, List.of(a, b));
    assertThat(jobs.matchesEverything()).isFalse();
    assertThat(jobs.createdByJobs()).containsExactly(a, b);
    assertThat(new Invalidate.Selector("target", null, null, null, null, null).createdByJobs()).isNull();
    assertThatThrownBy(() -> new Invalidate.Selector(null, null, null, null, null, null, List.of(a, "nope")))
        .hasMessageStartingWith("created_by_jobs: not a ULID");
    List<String> tooMany = java.util.stream.IntStream.range(0, Invalidate.Selector.MAX_JOBS + 1)
        .mapToObj(i -> Ulid.next()).toList();
    assertThatThrownBy(() -> new Invalidate.Selector(null, null, null, null, null, null, tooMany))
        .hasMessageStartingWith("created_by_jobs: at most 1000");
  }

  @Test
  void anInvalidateWithAJobListRoundTripsThroughTheCodecAndOneWithoutItEncodesAsBefore() throws Exception {
    EventCodec codec = new EventCodec();
    String job = Ulid.next();
    CloudEvent withJobs = CloudEvent.of("urn:ephemera:admin", new Invalidate("gong-1",
        new Invalidate.Selector(null, null, null, null, null, null, List.of(job)), "broken toolchain", "replay"));
    CloudEvent decoded = codec.decode(codec.encode(withJobs));
    assertThat(((Invalidate) decoded.data()).selector().createdByJobs()).containsExactly(job);
    CloudEvent without = CloudEvent.of("urn:ephemera:admin",
        new Invalidate("gong-1", new Invalidate.Selector("target", null, null, null, null, null), "x", "ops"));
    String json = new String(codec.encode(without), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(json).doesNotContain("created_by_jobs");
    assertThat(((Invalidate) codec.decode(json.getBytes(java.nio.charset.StandardCharsets.UTF_8)).data())
        .selector().createdByJobs()).isNull();
  }

  @Test
  void aDeclaredSetNeedsAbsoluteRules() {
    assertThat(new DeclaredSet("m2", List.of("/home/build/.m2/**/*")).when()).isEqualTo(DeclaredSet.When.SUCCESS);
    assertThat(new DeclaredSet("m2", List.of("=%/a/*", "%=/b/*", "!/a/x")).rules()).hasSize(3);
    assertThatThrownBy(() -> new DeclaredSet("m2", List.of("home/build")))
        .hasMessageStartingWith("rules[0]: not a rule");
    assertThatThrownBy(() -> new DeclaredSet("m2", List.of())).hasMessage("rules: at least one rule is required");
  }
}
