package dev.ephemera.catalog;

import static dev.ephemera.catalog.CatalogFixtures.at;
import static dev.ephemera.catalog.CatalogFixtures.id;
import static dev.ephemera.catalog.CatalogFixtures.owner;
import static dev.ephemera.catalog.CatalogFixtures.pendingSet;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ephemera.catalog.CatalogFixtures.PendingSet;
import dev.ephemera.testing.PostgresEndpoint;
import dev.ephemera.testing.RealServices;
import dev.ephemera.testing.TestServices;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Sets becoming live, heads moving (only forward), resolution along a read chain and invalidation. */
@ExtendWith(RealServices.class)
class SetLifecycleIT {
  private static Catalog catalog;

  @BeforeAll
  static void openCatalog(TestServices services) {
    PostgresEndpoint database = services.freshDatabase();
    catalog = Catalog.open(database.jdbcUrl(), database.user(), database.password());
  }

  @AfterAll
  static void closeCatalog() {
    catalog.close();
  }

  @Test
  void aPendingSetRoundTripsWithItsChunksInOrder() {
    PendingSet pending = pendingSet(owner(), "cargo-registry", "branch:main", id(), id(), 5);
    insert(pending);

    SetRow found = catalog.inTransaction((CatalogTx tx) -> tx.sets().find(pending.setId())).orElseThrow();
    assertThat(found).isEqualTo(pending.set());
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.sets().chunksOf(pending.setId())))
        .containsExactlyElementsOf(pending.chunks());
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.sets().pendingForJob(pending.set().createdByJob())))
        .containsExactly(pending.set());
  }

  @Test
  void setsSharingChunksStoreEachChunkOnce() {
    String owner = owner();
    String seed = id();
    PendingSet first = pendingSet(owner, "target", "branch:main", id(), seed, 3);
    PendingSet second = pendingSet(owner, "target", "branch:feature", id(), seed, 3);
    insert(first);
    insert(second);

    long rows =
        catalog.inTransaction(
            (CatalogTx tx) ->
                tx.handle()
                    .createQuery("select count(*) from chunks where sha256 = any(:shas)")
                    .bind("shas", first.chunks().stream().map(ChunkRefRow::chunkSha256).toArray(String[]::new))
                    .mapTo(Long.class)
                    .one());
    assertThat(rows).isEqualTo(3);
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.sets().chunksOf(second.setId())))
        .containsExactlyElementsOf(second.chunks());
  }

  @Test
  void aChunkListThatDoesNotDescribeTheTarStreamIsRefused() {
    PendingSet pending = pendingSet(owner(), "target", "branch:main", id(), id(), 3);
    List<ChunkRefRow> gap =
        List.of(pending.chunks().get(0), pending.chunks().get(2), pending.chunks().get(1));

    assertThatThrownBy(() -> catalog.useTransaction(tx -> tx.sets().insertPending(pending.set(), gap)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected 1");
    assertThatThrownBy(
            () -> catalog.useTransaction(tx -> tx.sets().insertPending(pending.set(), pending.chunks().subList(0, 2))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("says 3 chunks but 2 were given");
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.sets().find(pending.setId()))).isEmpty();
  }

  @Test
  void aHeadOnlyMovesForward() {
    String owner = owner();
    PendingSet middle = pendingSet(owner, "cargo-registry", "branch:main");
    PendingSet older = pendingSet(owner, "cargo-registry", "branch:main");
    PendingSet newer = pendingSet(owner, "cargo-registry", "branch:main");
    insert(middle);
    insert(older);
    insert(newer);

    assertThat(markLive(middle, at(20))).as("first set makes the head").isTrue();
    assertThat(markLive(older, at(10))).as("a late, older job does not move the head back").isFalse();
    assertThat(head(owner, "cargo-registry", "branch:main")).contains(middle.setId());
    assertThat(status(older)).isEqualTo(SetStatus.SUPERSEDED);
    assertThat(status(middle)).isEqualTo(SetStatus.LIVE);

    assertThat(markLive(newer, at(30))).isTrue();
    assertThat(head(owner, "cargo-registry", "branch:main")).contains(newer.setId());
    assertThat(status(middle)).isEqualTo(SetStatus.SUPERSEDED);
    assertThat(status(newer)).isEqualTo(SetStatus.LIVE);
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.sets().find(newer.setId())).orElseThrow().completedAt())
        .isEqualTo(at(30));
  }

  @Test
  void equalCompletionTimesAreOrderedBySetId() {
    String owner = owner();
    PendingSet lowId = pendingSet(owner, "target", "branch:main");
    PendingSet highId = pendingSet(owner, "target", "branch:main");
    insert(lowId);
    insert(highId);

    assertThat(markLive(highId, at(5))).isTrue();
    assertThat(markLive(lowId, at(5))).isFalse();
    assertThat(head(owner, "target", "branch:main")).contains(highId.setId());
  }

  @Test
  void aReplayedCompletionChangesNothing() {
    String owner = owner();
    PendingSet first = pendingSet(owner, "target", "branch:main");
    PendingSet second = pendingSet(owner, "target", "branch:main");
    insert(first);
    insert(second);
    markLive(first, at(1));
    markLive(second, at(2));
    HeadRow before = catalog.inTransaction((CatalogTx tx) -> tx.heads().find(owner, "target", "branch:main"))
        .orElseThrow();

    assertThat(markLive(first, at(3))).as("not pending any more").isFalse();
    assertThat(markLive(second, at(3))).isFalse();

    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.heads().find(owner, "target", "branch:main")))
        .contains(before);
    assertThat(status(first)).isEqualTo(SetStatus.SUPERSEDED);
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.sets().find(second.setId())).orElseThrow().completedAt())
        .isEqualTo(at(2));
  }

  @Test
  void aSetBecomesLiveAtomicallyWithItsHeadMove() {
    String owner = owner();
    PendingSet current = pendingSet(owner, "target", "branch:main");
    PendingSet next = pendingSet(owner, "target", "branch:main");
    insert(current);
    insert(next);
    markLive(current, at(1));
    HeadRow before = catalog.inTransaction((CatalogTx tx) -> tx.heads().find(owner, "target", "branch:main"))
        .orElseThrow();

    assertThatThrownBy(
            () ->
                catalog.useTransaction(
                    tx -> {
                      assertThat(tx.sets().markLive(next.setId(), at(2))).isTrue();
                      assertThat(tx.heads().find(owner, "target", "branch:main").orElseThrow().setId())
                          .isEqualTo(next.setId());
                      throw new IllegalStateException("worker died before commit");
                    }))
        .hasMessage("worker died before commit");

    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.heads().find(owner, "target", "branch:main")))
        .contains(before);
    assertThat(status(next)).isEqualTo(SetStatus.PENDING);
    assertThat(status(current)).isEqualTo(SetStatus.LIVE);
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.sets().find(next.setId())).orElseThrow().completedAt())
        .isNull();
  }

  @Test
  void aFirstSetThatFailsMidTransactionLeavesNoHead() {
    String owner = owner();
    PendingSet only = pendingSet(owner, "target", "pr:12");
    insert(only);

    assertThatThrownBy(
            () ->
                catalog.useTransaction(
                    tx -> {
                      tx.sets().markLive(only.setId(), at(1));
                      throw new IllegalStateException("outbox insert failed");
                    }))
        .hasMessage("outbox insert failed");

    assertThat(head(owner, "target", "pr:12")).isEmpty();
    assertThat(status(only)).isEqualTo(SetStatus.PENDING);
  }

  @Test
  void anOlderCompletionWaitsForTheNewerOneAndThenLeavesTheHeadAlone() throws Exception {
    String owner = owner();
    PendingSet newer = pendingSet(owner, "target", "branch:main");
    PendingSet older = pendingSet(owner, "target", "branch:main");
    insert(newer);
    insert(older);
    CountDownLatch newerMoved = new CountDownLatch(1);
    CountDownLatch releaseNewer = new CountDownLatch(1);

    CompletableFuture<Boolean> first =
        CompletableFuture.supplyAsync(
            () ->
                catalog.inTransaction(
                    (CatalogTx tx) -> {
                      boolean moved = tx.sets().markLive(newer.setId(), at(20));
                      newerMoved.countDown();
                      CatalogIT.await(releaseNewer);
                      return moved;
                    }));
    assertThat(newerMoved.await(30, TimeUnit.SECONDS)).isTrue();
    CompletableFuture<Boolean> second =
        CompletableFuture.supplyAsync(
            () -> catalog.inTransaction((CatalogTx tx) -> tx.sets().markLive(older.setId(), at(10))));
    Locks.awaitSomeoneWaitingOnALock(catalog);
    assertThat(second).isNotDone();
    releaseNewer.countDown();

    assertThat(first.get(30, TimeUnit.SECONDS)).isTrue();
    assertThat(second.get(30, TimeUnit.SECONDS)).isFalse();
    assertThat(head(owner, "target", "branch:main")).contains(newer.setId());
    assertThat(status(newer)).isEqualTo(SetStatus.LIVE);
    assertThat(status(older)).isEqualTo(SetStatus.SUPERSEDED);
  }

  @Test
  void concurrentTransactionsMovingTheSameHeadSerialize() throws Exception {
    ExecutorService threads = Executors.newFixedThreadPool(2);
    try {
      for (int round = 0; round < 25; round++) {
        String owner = owner();
        PendingSet a = pendingSet(owner, "target", "branch:main");
        PendingSet b = pendingSet(owner, "target", "branch:main");
        insert(a);
        insert(b);
        // alternate which one is newer, so both arrival orders are exercised
        Instant aCompleted = at(round % 2 == 0 ? 1 : 2);
        Instant bCompleted = at(round % 2 == 0 ? 2 : 1);
        PendingSet newest = round % 2 == 0 ? b : a;
        CyclicBarrier start = new CyclicBarrier(2);

        Future<Boolean> movedA = threads.submit(() -> markLiveAfter(start, a, aCompleted));
        Future<Boolean> movedB = threads.submit(() -> markLiveAfter(start, b, bCompleted));
        boolean newestMoved = (newest == a ? movedA : movedB).get(30, TimeUnit.SECONDS);
        (newest == a ? movedB : movedA).get(30, TimeUnit.SECONDS);

        assertThat(newestMoved).as("round %d: the newest set moves the head", round).isTrue();
        assertThat(head(owner, "target", "branch:main")).as("round %d", round).contains(newest.setId());
        List<SetRow> sets =
            catalog.inTransaction(
                (CatalogTx tx) -> tx.sets().list(owner, SetFilter.all(10).withName("target")));
        assertThat(sets).filteredOn(s -> s.status() == SetStatus.LIVE)
            .as("round %d: exactly one live set", round)
            .extracting(SetRow::setId)
            .containsExactly(newest.setId());
        assertThat(sets).filteredOn(s -> s.status() == SetStatus.SUPERSEDED).hasSize(1);
      }
    } finally {
      threads.shutdownNow();
    }
  }

  @Test
  void resolveFindsTheFirstLiveHeadAlongTheReadChain() {
    String owner = owner();
    PendingSet main = pendingSet(owner, "cargo-registry", "branch:main");
    PendingSet feature = pendingSet(owner, "cargo-registry", "branch:feature");
    PendingSet pending = pendingSet(owner, "cargo-registry", "pr:1432");
    PendingSet otherName = pendingSet(owner, "target", "pr:1432");
    insert(main);
    insert(feature);
    insert(pending);
    insert(otherName);
    markLive(main, at(1));
    markLive(feature, at(2));
    markLive(otherName, at(3));
    List<String> chain = List.of("pr:1432", "branch:feature", "branch:main");

    Optional<ResolvedSet> resolved =
        catalog.inTransaction((CatalogTx tx) -> tx.heads().resolve(owner, "cargo-registry", chain));
    Optional<ResolvedSet> fallback =
        catalog.inTransaction(
            (CatalogTx tx) -> tx.heads().resolve(owner, "cargo-registry", List.of("pr:1432", "branch:main")));
    Optional<ResolvedSet> miss =
        catalog.inTransaction((CatalogTx tx) -> tx.heads().resolve(owner, "cargo-registry", List.of("pr:1")));
    Optional<ResolvedSet> otherOwner =
        catalog.inTransaction((CatalogTx tx) -> tx.heads().resolve(owner(), "cargo-registry", chain));

    assertThat(resolved).map(r -> r.set().setId()).contains(feature.setId());
    assertThat(resolved).map(ResolvedSet::fallbackLevel).contains(1);
    assertThat(resolved).map(ResolvedSet::scope).contains("branch:feature");
    assertThat(fallback).map(r -> r.set().setId()).contains(main.setId());
    assertThat(fallback).map(ResolvedSet::fallbackLevel).contains(1);
    assertThat(miss).isEmpty();
    assertThat(otherOwner).isEmpty();
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.heads().resolve(owner, "cargo-registry", List.of())))
        .isEmpty();
  }

  @Test
  void onlyAPendingSetCanBeDiscarded() {
    String owner = owner();
    PendingSet failed = pendingSet(owner, "target", "branch:main");
    PendingSet live = pendingSet(owner, "target", "branch:main");
    insert(failed);
    insert(live);
    markLive(live, at(1));

    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.sets().markDiscarded(failed.setId(), "job failed")))
        .isTrue();
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.sets().markDiscarded(live.setId(), "job failed")))
        .isFalse();
    assertThat(markLive(failed, at(2))).as("a discarded set never becomes live").isFalse();

    SetRow discarded = catalog.inTransaction((CatalogTx tx) -> tx.sets().find(failed.setId())).orElseThrow();
    assertThat(discarded.status()).isEqualTo(SetStatus.DISCARDED);
    assertThat(discarded.statusReason()).isEqualTo("job failed");
    assertThat(status(live)).isEqualTo(SetStatus.LIVE);
    assertThat(head(owner, "target", "branch:main")).contains(live.setId());
  }

  @Test
  void liveAndPendingSetsAreFoundByTheirJob() {
    String owner = owner();
    String jobId = id();
    PendingSet a = pendingSet(owner, "a", "branch:main", jobId, id(), 1);
    PendingSet b = pendingSet(owner, "b", "branch:main", jobId, id(), 1);
    insert(a);
    insert(b);
    markLive(a, at(1));

    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.sets().liveForJob(jobId)))
        .extracting(SetRow::setId)
        .containsExactly(a.setId());
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.sets().pendingForJob(jobId)))
        .extracting(SetRow::setId)
        .containsExactly(b.setId());
  }

  @Test
  void touchNeverMovesLastUsedBack() {
    PendingSet set = pendingSet(owner(), "target", "branch:main");
    insert(set);

    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.sets().touch(set.setId(), at(50)))).isTrue();
    catalog.useTransaction(tx -> tx.sets().touch(set.setId(), at(40)));
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.sets().find(set.setId())).orElseThrow().lastUsedAt())
        .isEqualTo(at(50));
    catalog.useTransaction(tx -> tx.sets().touch(set.setId(), at(60)));
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.sets().find(set.setId())).orElseThrow().lastUsedAt())
        .isEqualTo(at(60));
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.sets().touch(id(), at(60)))).isFalse();
  }

  @Test
  void listFiltersAnOwnersSetsNewestFirst() {
    String owner = owner();
    String jobId = id();
    List<PendingSet> sets = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      PendingSet p = pendingSet(owner, i % 2 == 0 ? "target" : "registry", "branch:main", i == 3 ? jobId : id(),
          id(), 1);
      sets.add(p);
      insert(p);
    }
    insert(pendingSet(owner(), "target", "branch:main"));
    markLive(sets.get(0), at(1));

    List<SetRow> all = catalog.inTransaction((CatalogTx tx) -> tx.sets().list(owner, SetFilter.all(10)));
    List<SetRow> targets =
        catalog.inTransaction((CatalogTx tx) -> tx.sets().list(owner, SetFilter.all(10).withName("target")));
    List<SetRow> live =
        catalog.inTransaction(
            (CatalogTx tx) -> tx.sets().list(owner, SetFilter.all(10).withStatus(SetStatus.LIVE)));
    List<SetRow> byJob =
        catalog.inTransaction((CatalogTx tx) -> tx.sets().list(owner, SetFilter.all(10).withCreatedByJob(jobId)));
    List<SetRow> limited = catalog.inTransaction((CatalogTx tx) -> tx.sets().list(owner, SetFilter.all(2)));
    List<SetRow> none =
        catalog.inTransaction(
            (CatalogTx tx) ->
                tx.sets().list(owner, SetFilter.all(10).withCreatedBetween(at(1), at(2)).withScope("branch:main")));

    // same created_at, so newest first means highest set id first
    assertThat(all).extracting(SetRow::setId)
        .containsExactly(sets.get(3).setId(), sets.get(2).setId(), sets.get(1).setId(), sets.get(0).setId());
    assertThat(targets).extracting(SetRow::setId).containsExactly(sets.get(2).setId(), sets.get(0).setId());
    assertThat(live).extracting(SetRow::setId).containsExactly(sets.get(0).setId());
    assertThat(byJob).extracting(SetRow::setId).containsExactly(sets.get(3).setId());
    assertThat(limited).hasSize(2);
    assertThat(none).isEmpty();
  }

  @Test
  void invalidatingTheHeadsSetMovesTheHeadBackToThePreviousValidSet() {
    String owner = owner();
    PendingSet first = pendingSet(owner, "target", "branch:main");
    PendingSet second = pendingSet(owner, "target", "branch:main");
    PendingSet third = pendingSet(owner, "target", "branch:main");
    insert(first);
    insert(second);
    insert(third);
    markLive(first, at(1));
    markLive(second, at(2));
    markLive(third, at(3));
    catalog.useTransaction(tx -> tx.invalidations().invalidateSet(second.setId(), "bad compiler"));

    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.invalidations().invalidateSet(third.setId(), "bad")))
        .isTrue();

    assertThat(head(owner, "target", "branch:main")).contains(first.setId());
    assertThat(status(first)).isEqualTo(SetStatus.LIVE);
    assertThat(status(second)).isEqualTo(SetStatus.INVALIDATED);
    assertThat(status(third)).isEqualTo(SetStatus.INVALIDATED);
    assertThat(markLive(third, at(9))).as("an invalidated set never comes back").isFalse();

    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.invalidations().invalidateSet(first.setId(), "bad")))
        .isTrue();
    assertThat(head(owner, "target", "branch:main")).as("no valid set left").isEmpty();
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.invalidations().invalidateSet(first.setId(), "again")))
        .isFalse();
  }

  @Test
  void anInvalidationIsRecordedOnce() {
    String owner = owner();
    InvalidationRow row =
        new InvalidationRow(id(), owner, "{\"name\": \"target\", \"scope\": \"branch:main\"}", "bad compiler",
            "admin@example.com", at(5), 3);

    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.invalidations().record(row))).isTrue();
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.invalidations().record(row))).isFalse();
    InvalidationRow found = catalog.inTransaction((CatalogTx tx) -> tx.invalidations().find(row.id())).orElseThrow();
    assertThat(found).usingRecursiveComparison().ignoringFields("selectorJson").isEqualTo(row);
    assertThat(found.selectorJson()).contains("\"scope\": \"branch:main\"");
    assertThat(catalog.inTransaction((CatalogTx tx) -> tx.invalidations().forOwner(owner))).hasSize(1);
  }

  private static boolean markLiveAfter(CyclicBarrier start, PendingSet set, Instant completedAt) throws Exception {
    start.await(30, TimeUnit.SECONDS);
    return catalog.inTransaction((CatalogTx tx) -> tx.sets().markLive(set.setId(), completedAt));
  }

  private static void insert(PendingSet set) {
    catalog.useTransaction(tx -> tx.sets().insertPending(set.set(), set.chunks()));
  }

  private static boolean markLive(PendingSet set, Instant completedAt) {
    return catalog.inTransaction((CatalogTx tx) -> tx.sets().markLive(set.setId(), completedAt));
  }

  private static SetStatus status(PendingSet set) {
    return catalog.inTransaction((CatalogTx tx) -> tx.sets().find(set.setId())).orElseThrow().status();
  }

  private static Optional<String> head(String owner, String name, String scope) {
    return catalog.inTransaction((CatalogTx tx) -> tx.heads().find(owner, name, scope)).map(HeadRow::setId);
  }
}
