package dev.ephemera.catalog;

import static dev.ephemera.catalog.CatalogFixtures.T0;
import static dev.ephemera.catalog.CatalogFixtures.at;
import static dev.ephemera.catalog.CatalogFixtures.id;
import static dev.ephemera.catalog.CatalogFixtures.job;
import static dev.ephemera.catalog.CatalogFixtures.owner;
import static dev.ephemera.catalog.CatalogFixtures.pendingSet;
import static dev.ephemera.catalog.CatalogFixtures.sha;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import dev.ephemera.catalog.CatalogFixtures.PendingSet;
import dev.ephemera.testing.PostgresEndpoint;
import dev.ephemera.testing.RealServices;
import dev.ephemera.testing.TestServices;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The catalog's schema, events, outbox, jobs, chunks, uses and policies against a real Postgres. */
@ExtendWith(RealServices.class)
class CatalogIT {
  private static PostgresEndpoint database;
  private static Catalog catalog;

  @BeforeAll
  static void openCatalog(TestServices services) {
    database = services.freshDatabase();
    catalog = Catalog.open(database.jdbcUrl(), database.user(), database.password());
  }

  @AfterAll
  static void closeCatalog() {
    catalog.close();
  }

  @Test
  void migrationsApplyTwiceWithoutError() {
    try (HikariDataSource dataSource = new HikariDataSource()) {
      dataSource.setJdbcUrl(database.jdbcUrl());
      dataSource.setUsername(database.user());
      dataSource.setPassword(database.password());
      assertThat(Catalog.migrate(dataSource)).isZero();
      assertThat(Catalog.migrate(dataSource)).isZero();
    }
    try (Catalog second = Catalog.open(database.jdbcUrl(), database.user(), database.password())) {
      assertThat(second.ready()).isTrue();
      assertThat(second.schemaVersion()).isEqualTo(catalog.schemaVersion());
    }
    assertThat(catalog.ready()).isTrue();
  }

  @Test
  void aNewDatabaseGetsEveryMigrationOnFirstOpenAndNoneOnTheNext(TestServices services) {
    PostgresEndpoint fresh = services.freshDatabase();
    try (HikariDataSource dataSource = new HikariDataSource()) {
      dataSource.setJdbcUrl(fresh.jdbcUrl());
      dataSource.setUsername(fresh.user());
      dataSource.setPassword(fresh.password());
      assertThat(Catalog.migrate(dataSource)).isPositive();
      assertThat(Catalog.migrate(dataSource)).isZero();
    }
  }

  @Test
  void replicasStartingTogetherOnANewDatabaseMigrateItOnce(TestServices services) throws Exception {
    PostgresEndpoint fresh = services.freshDatabase();
    java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
    java.util.function.Supplier<Integer> replica =
        () -> {
          try (HikariDataSource dataSource = new HikariDataSource()) {
            dataSource.setJdbcUrl(fresh.jdbcUrl());
            dataSource.setUsername(fresh.user());
            dataSource.setPassword(fresh.password());
            start.await(30, TimeUnit.SECONDS);
            return Catalog.migrate(dataSource);
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        };
    CompletableFuture<Integer> first = CompletableFuture.supplyAsync(replica);
    CompletableFuture<Integer> second = CompletableFuture.supplyAsync(replica);

    assertThat(List.of(first.get(60, TimeUnit.SECONDS), second.get(60, TimeUnit.SECONDS))).containsOnlyOnce(0);
    try (Catalog opened = Catalog.open(fresh.jdbcUrl(), fresh.user(), fresh.password())) {
      assertThat(opened.ready()).isTrue();
    }
  }

  @Test
  void isNotReadyOnceClosed() {
    Catalog other = Catalog.open(database.jdbcUrl(), database.user(), database.password());
    assertThat(other.ready()).isTrue();
    other.close();
    assertThat(other.ready()).isFalse();
  }

  @Test
  void aProcessedEventIdIsAppliedOnce() {
    String eventId = id();
    String digest = sha("payload-1");
    EventMark first = mark(eventId, digest, 7);
    EventMark again = mark(eventId, digest, 7);
    EventMark tampered = mark(eventId, sha("payload-2"), 9);

    assertThat(first).isEqualTo(EventMark.NEW);
    assertThat(again).isEqualTo(EventMark.DUPLICATE);
    assertThat(tampered).isEqualTo(EventMark.CONFLICT);
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.events().isProcessed(eventId))).isTrue();
  }

  @Test
  void anEventRecordedInARolledBackTransactionIsNewAgain() {
    String eventId = id();
    assertThatThrownBy(
            () ->
                catalog.useTransaction(
                    tx -> {
                      tx.events().markProcessed(eventId, "job.completed", sha("x"), "buildomat.jobs", 0, 1);
                      throw new IllegalStateException("applying the event failed");
                    }))
        .hasMessageContaining("applying the event failed");

    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.events().isProcessed(eventId))).isFalse();
    assertThat(mark(eventId, sha("x"), 1)).isEqualTo(EventMark.NEW);
  }

  @Test
  void twoConsumersRecordingTheSameEventConcurrentlyApplyItOnce() throws Exception {
    String eventId = id();
    CountDownLatch firstRecorded = new CountDownLatch(1);
    CountDownLatch releaseFirst = new CountDownLatch(1);
    CompletableFuture<EventMark> first =
        CompletableFuture.supplyAsync(
            () ->
                catalog.inTransaction(
                    (CatalogTx tx) -> {
                      EventMark mark =
                          tx.events().markProcessed(eventId, "job.completed", sha("e"), "buildomat.jobs", 0, 3);
                      firstRecorded.countDown();
                      await(releaseFirst);
                      return mark;
                    }));
    assertThat(firstRecorded.await(30, TimeUnit.SECONDS)).isTrue();
    CompletableFuture<EventMark> second = CompletableFuture.supplyAsync(() -> mark(eventId, sha("e"), 3));
    // the second insert waits on the first transaction's uncommitted row
    Locks.awaitSomeoneWaitingOnALock(catalog);
    releaseFirst.countDown();

    assertThat(first.get(30, TimeUnit.SECONDS)).isEqualTo(EventMark.NEW);
    assertThat(second.get(30, TimeUnit.SECONDS)).isEqualTo(EventMark.DUPLICATE);
  }

  @Test
  void outboxRowsComeBackInOrderAndAreMarkedPublished() {
    String topic = "ephemera.lifecycle." + id();
    List<String> eventIds = List.of(id(), id(), id());
    List<Long> seqs =
        catalog.inTransaction(
            (CatalogTx tx) ->
                eventIds.stream()
                    .map(
                        e ->
                            tx.outbox()
                                .append(
                                    e,
                                    topic,
                                    "gong-1",
                                    ("{\"id\":\"" + e + "\"}").getBytes(StandardCharsets.UTF_8),
                                    Map.of("content-type", "application/cloudevents+json")))
                    .toList());
    assertThat(seqs).isSorted().doesNotHaveDuplicates();

    List<OutboxRow> batch = catalog.inTransaction((CatalogTx tx) -> onlyTopic(tx.outbox().nextBatch(1000), topic));
    assertThat(batch).extracting(OutboxRow::eventId).containsExactlyElementsOf(eventIds);
    assertThat(batch).extracting(OutboxRow::seq).containsExactlyElementsOf(seqs);
    assertThat(new String(batch.get(0).payload(), StandardCharsets.UTF_8))
        .isEqualTo("{\"id\":\"" + eventIds.get(0) + "\"}");
    assertThat(batch.get(0).headers()).containsExactly(Map.entry("content-type", "application/cloudevents+json"));
    assertThat(batch.get(0).key()).isEqualTo("gong-1");
    assertThat(batch.get(0).publishedAt()).isNull();

    Instant publishedAt = at(60);
    int marked = catalog.inTransaction((CatalogTx tx) -> tx.outbox().markPublished(seqs.subList(0, 2), publishedAt));
    assertThat(marked).isEqualTo(2);
    List<OutboxRow> rest = catalog.inTransaction((CatalogTx tx) -> onlyTopic(tx.outbox().nextBatch(1000), topic));
    assertThat(rest).extracting(OutboxRow::eventId).containsExactly(eventIds.get(2));

    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.outbox().markPublished(seqs, publishedAt.plusSeconds(1))))
        .as("only the one unpublished row is marked again")
        .isEqualTo(1);
    assertThat(catalog.inTransaction((CatalogTx tx) -> onlyTopic(tx.outbox().nextBatch(1000), topic))).isEmpty();
  }

  /** Marks whatever other tests left in the outbox published, so a test sees only its own rows. */
  private void drainOutbox() {
    catalog.useTransaction(
        tx -> tx.outbox().markPublished(tx.outbox().nextBatch(10_000).stream().map(OutboxRow::seq).toList(), T0));
  }

  @Test
  void twoPublishersNeverGetTheSameOutboxRows() throws Exception {
    drainOutbox();
    String topic = "ephemera.used." + id();
    List<Long> seqs =
        catalog.inTransaction(
            (CatalogTx tx) ->
                List.of(1, 2, 3, 4)
                    .stream()
                    .map(i -> tx.outbox().append(id(), topic, null, new byte[] {i.byteValue()}, Map.of()))
                    .toList());

    CountDownLatch firstHasBatch = new CountDownLatch(1);
    CountDownLatch releaseFirst = new CountDownLatch(1);
    CompletableFuture<List<Long>> first =
        CompletableFuture.supplyAsync(
            () ->
                catalog.inTransaction(
                    (CatalogTx tx) -> {
                      List<Long> got = tx.outbox().claimBatch(2, at(1)).stream().map(OutboxRow::seq).toList();
                      firstHasBatch.countDown();
                      await(releaseFirst);
                      return got;
                    }));
    assertThat(firstHasBatch.await(30, TimeUnit.SECONDS)).isTrue();
    List<Long> second =
        catalog.inTransaction(
            (CatalogTx tx) -> {
              List<Long> got = tx.outbox().claimBatch(10, at(2)).stream().map(OutboxRow::seq).toList();
              return got;
            });
    releaseFirst.countDown();

    assertThat(first.get(30, TimeUnit.SECONDS)).containsExactlyElementsOf(seqs.subList(0, 2));
    assertThat(second).containsExactlyElementsOf(seqs.subList(2, 4));
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.outbox().backlog().count())).isZero();
  }

  @Test
  void aClaimRolledBackLeavesTheRowsUnpublished() {
    drainOutbox();
    String topic = "ephemera.used." + id();
    List<Long> seqs =
        catalog.inTransaction(
            (CatalogTx tx) ->
                List.of(3, 1, 2).stream()
                    .map(i -> tx.outbox().append(id(), topic, null, new byte[] {i.byteValue()}, Map.of()))
                    .toList());
    assertThatThrownBy(
            () ->
                catalog.useTransaction(
                    tx -> {
                      List<OutboxRow> claimed = tx.outbox().claimBatch(10, at(5));
                      assertThat(claimed).extracting(OutboxRow::seq).containsExactlyElementsOf(seqs);
                      assertThat(claimed).allSatisfy(r -> assertThat(r.publishedAt()).isEqualTo(at(5)));
                      throw new IllegalStateException("Kafka did not acknowledge");
                    }))
        .hasMessageContaining("Kafka did not acknowledge");
    // the send failed: the rows are still unpublished, in order, and the next claim gets them
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.outbox().backlog().count())).isEqualTo(3);
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.outbox().claimBatch(10, at(6))))
        .extracting(OutboxRow::seq)
        .containsExactlyElementsOf(seqs);
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.outbox().backlog().count())).isZero();
  }

  @Test
  void theBacklogCountsUnpublishedRowsAndKnowsTheOldest() {
    drainOutbox();
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.outbox().backlog()))
        .isEqualTo(new OutboxBacklog(0, java.util.Optional.empty()));

    catalog.useTransaction(tx -> tx.outbox().append(id(), "ephemera.used", "job", new byte[] {1}, null));
    catalog.useTransaction(tx -> tx.outbox().append(id(), "ephemera.used", "job", new byte[] {2}, null));
    OutboxBacklog backlog = catalog.inTransaction((CatalogTx tx) -> tx.outbox().backlog());
    List<OutboxRow> rows = catalog.inTransaction((CatalogTx tx) -> tx.outbox().nextBatch(10));

    assertThat(backlog.count()).isEqualTo(2);
    assertThat(backlog.oldest()).contains(rows.get(0).createdAt());
    assertThat(rows.get(0).headers()).isEmpty();
  }

  @Test
  void aStartedJobRoundTripsAndCompletesOnce() {
    String jobId = id();
    JobRow started = job(jobId, owner());
    catalog.useTransaction(tx -> tx.jobs().upsertStarted(started));
    catalog.useTransaction(tx -> tx.jobs().upsertStarted(started));

    JobRow found = catalog.inTransaction((CatalogTx tx) -> tx.jobs().find(jobId)).orElseThrow();
    assertThat(found).usingRecursiveComparison().ignoringFields("declaredJson").isEqualTo(started);
    assertThat(found.declaredJson()).contains("\"cargo-registry\"");
    assertThat(found.readScopes()).containsExactly("branch:feature", "branch:main");

    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.jobs().markCompleted(jobId, "success", at(30)))).isTrue();
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.jobs().markCompleted(jobId, "failure", at(40)))).isFalse();
    catalog.useTransaction(tx -> tx.jobs().upsertStarted(started));
    JobRow completed = catalog.inTransaction((CatalogTx tx) -> tx.jobs().find(jobId)).orElseThrow();
    assertThat(completed.result()).isEqualTo("success");
    assertThat(completed.completedAt()).isEqualTo(at(30));
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.jobs().find(id()))).isEmpty();
  }

  @Test
  void aForkPullRequestJobWithoutBranchOrWriteScopeRoundTrips() {
    String jobId = id();
    JobRow base = job(jobId, owner());
    JobRow fork =
        new JobRow(jobId, base.owner(), "someone", "omicron", 7L, base.headSha(), null, "pull_request", 1432, true,
            "main", base.target(), base.jobName(), null, "pr:1432", List.of("pr:1432", "branch:main"), T0, null,
            null);
    catalog.useTransaction(tx -> tx.jobs().upsertStarted(fork));

    JobRow found = catalog.inTransaction((CatalogTx tx) -> tx.jobs().find(jobId)).orElseThrow();
    assertThat(found.headBranch()).isNull();
    assertThat(found.pullRequest()).isEqualTo(1432);
    assertThat(found.fork()).isTrue();
    assertThat(found.declaredJson()).isEqualTo("[]");
  }

  @Test
  void missingChunksAreThoseTheCatalogHasNoRowFor() {
    PendingSet set = pendingSet(owner(), "cargo-registry", "branch:main");
    catalog.useTransaction(tx -> tx.sets().insertPending(set.set(), set.chunks()));
    String known = set.chunks().get(1).chunkSha256();
    String unknown1 = sha(id());
    String unknown2 = sha(id());

    List<String> missing =
        catalog.inTransaction((CatalogTx tx) -> tx.chunks().missing(List.of(unknown2, known, unknown1, unknown2)));

    assertThat(missing).containsExactly(unknown2, unknown1);
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.chunks().missing(List.of()))).isEmpty();
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.chunks().exists(known))).isTrue();
  }

  @Test
  void usesAreRecordedOncePerJobSetAndKind() {
    String owner = owner();
    PendingSet set = pendingSet(owner, "target", "branch:main");
    catalog.useTransaction(
        tx -> {
          tx.sets().insertPending(set.set(), set.chunks());
          tx.sets().markLive(set.setId(), at(1));
        });
    String jobId = id();

    boolean staged =
        catalog.inTransaction(
            (CatalogTx tx) -> tx.uses().record(jobId, set.setId(), UseKind.STAGED, "target", "branch:main", 1, at(10)));
    boolean stagedAgain =
        catalog.inTransaction(
            (CatalogTx tx) -> tx.uses().record(jobId, set.setId(), UseKind.STAGED, "target", "branch:main", 1, at(11)));
    boolean restored =
        catalog.inTransaction(
            (CatalogTx tx) ->
                tx.uses().record(jobId, set.setId(), UseKind.RESTORED, "target", "branch:main", 1, at(12)));

    assertThat(staged).isTrue();
    assertThat(stagedAgain).isFalse();
    assertThat(restored).isTrue();
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.uses().forJob(jobId)))
        .containsExactly(
            new UseRow(jobId, set.setId(), UseKind.STAGED, "target", "branch:main", 1, at(10)),
            new UseRow(jobId, set.setId(), UseKind.RESTORED, "target", "branch:main", 1, at(12)));
  }

  @Test
  void anOwnerWithoutAPolicyGetsTheDefaultsAndAPutPolicyIsKept() {
    String owner = owner();
    OwnerPolicyRow defaults = catalog.inTransaction((CatalogTx tx) -> tx.policies().get(owner));
    assertThat(defaults).isEqualTo(new OwnerPolicyRow(owner, "hermetic", 10L << 30, 7, "success", null));

    catalog.useTransaction(
        tx -> tx.policies().put(new OwnerPolicyRow(owner, "seed", 1L << 30, 3, "always", null)));
    OwnerPolicyRow stored = catalog.inTransaction((CatalogTx tx) -> tx.policies().get(owner));
    assertThat(stored).usingRecursiveComparison().ignoringFields("updatedAt")
        .isEqualTo(new OwnerPolicyRow(owner, "seed", 1L << 30, 3, "always", null));
    assertThat(stored.updatedAt()).isNotNull();

    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.policies().reset(owner))).isTrue();
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.policies().get(owner))).isEqualTo(defaults);
  }

  private static EventMark mark(String eventId, String digest, long offset) {
    return catalog.inTransaction(
        (CatalogTx tx) -> tx.events().markProcessed(eventId, "job.completed", digest, "buildomat.jobs", 0, offset));
  }

  private static List<OutboxRow> onlyTopic(List<OutboxRow> rows, String topic) {
    return rows.stream().filter(r -> r.topic().equals(topic)).toList();
  }

  static void await(CountDownLatch latch) {
    try {
      if (!latch.await(30, TimeUnit.SECONDS)) {
        throw new AssertionError("timed out waiting for the test to release the transaction");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
