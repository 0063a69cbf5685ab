package dev.ephemera.catalog;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/**
 * Heads ({@code heads}): (owner, name, scope) → newest live set. Heads are moved by {@link SetDao#markLive}; this
 * interface reads them and holds the one conditional statement that moves them.
 */
@RegisterConstructorMapper(HeadRow.class)
@RegisterConstructorMapper(SetRow.class)
public interface HeadDao {

  @SqlQuery("select owner, name, scope, set_id, set_completed_at, moved_at from heads "
      + "where owner = :owner and name = :name and scope = :scope")
  Optional<HeadRow> find(@Bind("owner") String owner, @Bind("name") String name, @Bind("scope") String scope);

  /**
   * The live set of the first scope in {@code scopesInOrder} that has one.
   *
   * @param scopesInOrder a job's read chain, e.g. {@code [pr:1432, branch:feature, branch:main]}
   * @return the set with its fallback level (index in the chain), or empty when no scope has a live head
   */
  default Optional<ResolvedSet> resolve(String owner, String name, List<String> scopesInOrder) {
    if (scopesInOrder.isEmpty()) {
      return Optional.empty();
    }
    List<ResolvedSet> found = new ArrayList<>();
    for (SetRow set : liveHeads(owner, name, scopesInOrder.toArray(String[]::new))) {
      found.add(new ResolvedSet(set, scopesInOrder.indexOf(set.scope())));
    }
    return found.stream().min(Comparator.comparingInt(ResolvedSet::fallbackLevel));
  }

  @SqlQuery("select " + SetDao.SET_COLUMNS_S + """
       from heads h join sets s on s.set_id = h.set_id
      where h.owner = :owner and h.name = :name and h.scope = any(:scopes) and s.status = 'live'
      """)
  List<SetRow> liveHeads(@Bind("owner") String owner, @Bind("name") String name, @Bind("scopes") String[] scopes);

  /**
   * Points the head at {@code setId} if there is no head yet or its set is older in (completed_at, set_id) order.
   * One statement, so it is atomic: a concurrent mover of the same head waits for this transaction and then
   * re-checks the condition against the row as this transaction left it.
   *
   * @return the head's set id after the statement if it moved, empty if the current head is newer or the same
   */
  @SqlQuery("""
      insert into heads as h (owner, name, scope, set_id, set_completed_at, moved_at)
      values (:owner, :name, :scope, :setId, :completedAt, now())
      on conflict (owner, name, scope) do update
        set set_id = excluded.set_id, set_completed_at = excluded.set_completed_at, moved_at = now()
        where (h.set_completed_at, h.set_id) < (excluded.set_completed_at, excluded.set_id)
      returning set_id
      """)
  Optional<String> moveForward(@Bind("owner") String owner, @Bind("name") String name, @Bind("scope") String scope,
                 @Bind("setId") String setId, @Bind("completedAt") Instant completedAt);
}
