package dev.ephemera.catalog;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.jdbi.v3.sqlobject.SqlObject;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.customizer.BindMethods;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;
import org.jdbi.v3.sqlobject.transaction.Transaction;

/**
 * Invalidation of sets ({@code invalidations}, and the status of {@code sets} and {@code heads}). Unlike a
 * completion, an invalidation may move a head back: to the newest still-valid (superseded) set of the same
 * (owner, name, scope), or removes it when there is none.
 */
@RegisterConstructorMapper(InvalidationRow.class)
@RegisterConstructorMapper(SetRow.class)
@RegisterConstructorMapper(HeadRow.class)
public interface InvalidationDao extends SqlObject {

  /**
   * Marks a set invalidated; if its head pointed at it, the head goes back to the newest superseded set of the
   * same key (which becomes live again) or is removed.
   *
   * @return false if the set is unknown or already invalidated, discarded or evicted
   */
  @Transaction
  default boolean invalidateSet(String setId, String reason) {
    Optional<SetRow> found = getHandle().attach(SetDao.class).find(setId);
    if (found.isEmpty()) {
      return false;
    }
    SetRow set = found.get();
    // Lock the head before touching the set: a concurrent markLive of a newer set on this key holds the head
    // and then updates the live set, so taking the set first could deadlock. (Invalidating a pending set at the
    // very moment its own job completes can still deadlock; Postgres aborts one side, which is retried.)
    Optional<HeadRow> head = lockHead(set.owner(), set.name(), set.scope());
    if (markInvalidated(setId, reason).isEmpty()) {
      return false;
    }
    if (head.isPresent() && head.get().setId().equals(setId)) {
      Optional<SetRow> previous = newestSuperseded(set.owner(), set.name(), set.scope());
      if (previous.isPresent()) {
        SetRow prev = previous.get();
        pointHead(set.owner(), set.name(), set.scope(), prev.setId(), prev.completedAt());
        revive(prev.setId(), "head restored after invalidating " + setId);
      } else {
        deleteHead(set.owner(), set.name(), set.scope());
      }
    }
    return true;
  }

  @SqlQuery("update sets set status = 'invalidated', status_reason = :reason "
      + "where set_id = :setId and status in ('pending', 'live', 'superseded') returning "
      + SetDao.SET_COLUMNS)
  Optional<SetRow> markInvalidated(@Bind("setId") String setId, @Bind("reason") String reason);

  @SqlQuery("select owner, name, scope, set_id, set_completed_at, moved_at from heads "
      + "where owner = :owner and name = :name and scope = :scope for update")
  Optional<HeadRow> lockHead(@Bind("owner") String owner, @Bind("name") String name, @Bind("scope") String scope);

  @SqlQuery("select " + SetDao.SET_COLUMNS + """
       from sets
      where owner = :owner and name = :name and scope = :scope and status = 'superseded'
        and completed_at is not null
      order by completed_at desc, set_id desc
      limit 1
      for update
      """)
  Optional<SetRow> newestSuperseded(@Bind("owner") String owner, @Bind("name") String name,
                    @Bind("scope") String scope);

  @SqlUpdate("update heads set set_id = :setId, set_completed_at = :completedAt, moved_at = now() "
      + "where owner = :owner and name = :name and scope = :scope")
  int pointHead(@Bind("owner") String owner, @Bind("name") String name, @Bind("scope") String scope,
          @Bind("setId") String setId, @Bind("completedAt") Instant completedAt);

  @SqlUpdate("update sets set status = 'live', status_reason = :reason, live_at = coalesce(live_at, now()) "
      + "where set_id = :setId")
  int revive(@Bind("setId") String setId, @Bind("reason") String reason);

  @SqlUpdate("delete from heads where owner = :owner and name = :name and scope = :scope")
  int deleteHead(@Bind("owner") String owner, @Bind("name") String name, @Bind("scope") String scope);

  /**
   * Records an applied invalidation.
   *
   * @return false if an invalidation with this id was already recorded (a replay)
   */
  @SqlUpdate("""
      insert into invalidations (id, owner, selector, reason, requested_by, applied_at, sets_affected)
      values (:i.id, :i.owner, cast(:i.selectorJson as jsonb), :i.reason, :i.requestedBy, :i.appliedAt,
          :i.setsAffected)
      on conflict (id) do nothing
      """)
  boolean record(@BindMethods("i") InvalidationRow invalidation);

  @SqlQuery("""
      select id, owner, selector::text as selector_json, reason, requested_by, applied_at, sets_affected
      from invalidations where id = :id
      """)
  Optional<InvalidationRow> find(@Bind("id") String id);

  /** The owner's invalidations, newest first. */
  @SqlQuery("""
      select id, owner, selector::text as selector_json, reason, requested_by, applied_at, sets_affected
      from invalidations where owner = :owner order by applied_at desc, id desc
      """)
  List<InvalidationRow> forOwner(@Bind("owner") String owner);
}
