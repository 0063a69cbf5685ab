package dev.ephemera.catalog;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.jdbi.v3.sqlobject.SqlObject;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.transaction.Transaction;

/**
 * Quota and idle eviction ({@code sets}, {@code heads}).
 *
 * <p><b>Stored bytes</b> of an owner, what the quota limits, is the sum of {@code archive_size} (the compressed
 * frames, as stored) of its pending, live and superseded sets. Chunks shared between sets are counted once per set,
 * so the figure is what the owner would cost if nothing were shared: simple to explain, never lower than the truth,
 * and it does not change when another owner's sets come and go. Pending sets count (they are bytes already stored)
 * but are never evicted: their job is still running.
 *
 * <p><b>Last use</b> of a set is {@code coalesce(last_used_at, live_at, created_at)}: the last restore, or when it
 * became live if nobody restored it yet.
 */
@RegisterConstructorMapper(SetRow.class)
@RegisterConstructorMapper(HeadRow.class)
public interface EvictionDao extends SqlObject {

  /** The expression that orders sets by last use. */
  String LAST_USE = "coalesce(last_used_at, live_at, created_at)";

  /** Owners that have any set that counts against a quota. */
  @SqlQuery("select distinct owner from sets where status in ('pending', 'live', 'superseded') order by owner")
  List<String> owners();

  /** The owner's stored bytes (see the class comment). */
  @SqlQuery("select coalesce(sum(archive_size), 0) from sets "
      + "where owner = :owner and status in ('pending', 'live', 'superseded')")
  long storedBytes(@Bind("owner") String owner);

  /** The owner's live and superseded sets not used since {@code cutoff}, least recently used first. */
  @SqlQuery("select " + SetDao.SET_COLUMNS + " from sets where owner = :owner and status in ('live', 'superseded') "
      + "and " + LAST_USE + " < :cutoff order by " + LAST_USE + ", set_id limit :limit")
  List<SetRow> idle(@Bind("owner") String owner, @Bind("cutoff") Instant cutoff, @Bind("limit") int limit);

  /** The owner's live and superseded sets, least recently used first. */
  @SqlQuery("select " + SetDao.SET_COLUMNS + " from sets where owner = :owner and status in ('live', 'superseded') "
      + "order by " + LAST_USE + ", set_id limit :limit")
  List<SetRow> leastRecentlyUsed(@Bind("owner") String owner, @Bind("limit") int limit);

  /** What one eviction did. */
  record Eviction(SetRow set, String headNow) {}

  /**
   * Marks a live or superseded set evicted. If its head pointed at it, the head goes back to the newest superseded set
   * of the key (which becomes live again) or is removed, as for an invalidation. Every chunk of the set is marked seen
   * now, so a restore of it that is in flight has the GC grace period to finish.
   *
   * @return the eviction, or empty if the set was no longer live or superseded (another collector, an invalidation)
   */
  @Transaction
  default Optional<Eviction> evict(String setId, String reason, Instant at) {
    SetDao sets = getHandle().attach(SetDao.class);
    InvalidationDao moves = getHandle().attach(InvalidationDao.class);
    Optional<SetRow> found = sets.find(setId);
    if (found.isEmpty()) {
      return Optional.empty();
    }
    SetRow set = found.get();
    // Head first, then the set: the same lock order as markLive and invalidateSet.
    Optional<HeadRow> head = moves.lockHead(set.owner(), set.name(), set.scope());
    Optional<SetRow> evicted = markEvicted(setId, reason);
    if (evicted.isEmpty()) {
      return Optional.empty();
    }
    String headNow = head.map(HeadRow::setId).orElse(null);
    if (head.isPresent() && head.get().setId().equals(setId)) {
      Optional<SetRow> previous = moves.newestSuperseded(set.owner(), set.name(), set.scope());
      if (previous.isPresent()) {
        SetRow prev = previous.get();
        moves.pointHead(set.owner(), set.name(), set.scope(), prev.setId(), prev.completedAt());
        moves.revive(prev.setId(), "head restored after evicting " + setId);
        headNow = prev.setId();
      } else {
        moves.deleteHead(set.owner(), set.name(), set.scope());
        headNow = null;
      }
    }
    getHandle().attach(ChunkDao.class).touchSet(setId, at);
    return Optional.of(new Eviction(evicted.get(), headNow));
  }

  @SqlQuery("update sets set status = 'evicted', status_reason = :reason "
      + "where set_id = :setId and status in ('live', 'superseded') returning " + SetDao.SET_COLUMNS)
  Optional<SetRow> markEvicted(@Bind("setId") String setId, @Bind("reason") String reason);

  /**
   * Tries to become the one collector running now (a session-level advisory lock on the caller's connection, released
   * by {@link #unlock} or when the connection closes).
   */
  @SqlQuery("select pg_try_advisory_lock(:key)")
  boolean tryLock(@Bind("key") long key);

  @SqlQuery("select pg_advisory_unlock(:key)")
  boolean unlock(@Bind("key") long key);
}
