package dev.ephemera.catalog;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import org.jdbi.v3.sqlobject.config.KeyColumn;
import org.jdbi.v3.sqlobject.config.ValueColumn;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/**
 * Content-addressed chunks ({@code chunks}). Rows are added by {@link SetDao#insertPending}; this interface answers
 * what the catalog already knows, so a persist uploads only the chunks that are new.
 */
public interface ChunkDao {

  /**
   * The hashes among {@code sha256s} that the catalog has no row for, each once, in the order given. The caller
   * still checks the object store: a chunk may be stored without a catalog row (an upload whose set was never
   * recorded).
   */
  default List<String> missing(Collection<String> sha256s) {
    if (sha256s.isEmpty()) {
      return List.of();
    }
    return missing(sha256s.toArray(String[]::new));
  }

  @SqlQuery("""
      select x.sha256
      from (select sha256, min(ord) as first from unnest(:shas) with ordinality as u(sha256, ord)
          group by sha256) x
      where not exists (select 1 from chunks c where c.sha256 = x.sha256 and c.deleted_at is null)
      order by x.first
      """)
  List<String> missing(@Bind("shas") String[] sha256s);

  /** Whether the catalog knows the chunk (and GC has not deleted it). */
  @SqlQuery("select exists (select 1 from chunks where sha256 = :sha256 and deleted_at is null)")
  boolean exists(@Bind("sha256") String sha256);

  /**
   * Records that a job is uploading the chunk, before its bytes are stored: every stored chunk has a row, and the
   * chunk is young for GC ({@code last_seen_at}) whether or not a set references it yet. Uploading a chunk that GC
   * deleted earlier brings its row back. Waits for a GC transaction that holds the row (see {@link #lockCollectable}).
   */
  @SqlUpdate("""
      insert into chunks (sha256, raw_size, stored_size, last_seen_at) values (:sha256, :rawSize, :storedSize, :at)
      on conflict (sha256) do update
        set last_seen_at = greatest(chunks.last_seen_at, excluded.last_seen_at), deleted_at = null,
          stored_size = excluded.stored_size
      """)
  void recordUpload(@Bind("sha256") String sha256, @Bind("rawSize") long rawSize, @Bind("storedSize") long storedSize,
            @Bind("at") Instant at);

  /**
   * Marks chunks as needed now (a persist was told the store has them, so it will not upload them): GC leaves them
   * alone for its grace period, long enough for the persist to register its set.
   *
   * @return the hashes among {@code sha256s} that have a live row: a chunk GC deleted is not among them, so the caller
   *         must not report it present
   */
  default List<String> touch(Collection<String> sha256s, Instant at) {
    return List.copyOf(touchStored(sha256s, at).keySet());
  }

  /**
   * {@link #touch}, answering the stored size of each chunk that has a live row (the length of the frame the worker
   * verified and stored): what a registration that does not wait for the digests reports as the archive size.
   */
  default Map<String, Long> touchStored(Collection<String> sha256s, Instant at) {
    if (sha256s.isEmpty()) {
      return Map.of();
    }
    return touchStored(sha256s.toArray(String[]::new), at);
  }

  @SqlQuery("""
      update chunks set last_seen_at = greatest(last_seen_at, :at)
      where sha256 in (select sha256 from chunks where sha256 = any(:shas) and deleted_at is null
               order by sha256 for update)
      returning sha256, stored_size
      """)
  @KeyColumn("sha256")
  @ValueColumn("stored_size")
  Map<String, Long> touchStored(@Bind("shas") String[] sha256s, @Bind("at") Instant at);

  /** Marks every chunk of a set as needed now: a restore of the set that is in flight keeps its chunks for the grace. */
  @SqlUpdate("""
      update chunks set last_seen_at = greatest(last_seen_at, :at)
      where sha256 in (select chunk_sha256 from set_chunks where set_id = :setId) and deleted_at is null
      """)
  int touchSet(@Bind("setId") String setId, @Bind("at") Instant at);

  /**
   * Locks up to {@code limit} chunks that GC may delete: not deleted, not seen since {@code cutoff}, and referenced by
   * no pending, live or superseded set. Locked rows are skipped, so two collectors never pick the same chunk; an
   * upload or touch of a locked chunk waits until the collector's transaction ends and then finds it deleted (and
   * stores it again).
   */
  @SqlQuery("""
      select c.sha256 from chunks c
      where c.deleted_at is null and c.last_seen_at < :cutoff
        and not exists (select 1 from set_chunks sc join sets s on s.set_id = sc.set_id
                where sc.chunk_sha256 = c.sha256 and s.status in ('pending', 'live', 'superseded'))
      order by c.last_seen_at
      limit :limit
      for update of c skip locked
      """)
  List<String> lockCollectable(@Bind("cutoff") Instant cutoff, @Bind("limit") int limit);

  /** Marks chunks deleted (their objects are gone); the rows stay because dead sets still list them. */
  @SqlUpdate("update chunks set deleted_at = :at where sha256 = any(:shas)")
  int markDeleted(@Bind("shas") String[] sha256s, @Bind("at") Instant at);

  /** Of {@code sha256s}, the ones with no row at all (objects in the store the catalog never heard of). */
  @SqlQuery("""
      select x.sha256 from unnest(:shas) as x(sha256)
      where not exists (select 1 from chunks c where c.sha256 = x.sha256)
      """)
  List<String> unknown(@Bind("shas") String[] sha256s);

  /** Gives an object found in the store without a row one, as if uploaded now, so GC can collect it after the grace. */
  @SqlUpdate("""
      insert into chunks (sha256, raw_size, stored_size, last_seen_at) values (:sha256, 0, :storedSize, :at)
      on conflict (sha256) do nothing
      """)
  int adopt(@Bind("sha256") String sha256, @Bind("storedSize") long storedSize, @Bind("at") Instant at);
}
