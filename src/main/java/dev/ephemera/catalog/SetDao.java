package dev.ephemera.catalog;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import org.jdbi.v3.sqlobject.SqlObject;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.customizer.BindMethods;
import org.jdbi.v3.sqlobject.statement.SqlBatch;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;
import org.jdbi.v3.sqlobject.transaction.Transaction;

/**
 * Sets ({@code sets}, {@code set_chunks}) and their lifecycle; see {@link SetStatus} for the state diagram.
 *
 * <p>Invariant kept by {@link #markLive}: per (owner, name, scope) at most one set is {@code live}, and it is the
 * one the head points to.
 */
@RegisterConstructorMapper(SetRow.class)
@RegisterConstructorMapper(ChunkRefRow.class)
public interface SetDao extends SqlObject {

  /** The columns mapped to {@link SetRow}, unqualified. */
  String SET_COLUMNS = """
       set_id, owner, name, scope, status, status_reason, created_by_job, created_at, live_at, completed_at,
       root_path, when_ as "when", tar_sha256, tar_size, archive_sha256, archive_size, file_count,
       chunk_count, manifest::text as manifest_json, last_used_at
      """;

  /** The columns mapped to {@link SetRow}, qualified by the alias {@code s}. */
  String SET_COLUMNS_S = """
       s.set_id, s.owner, s.name, s.scope, s.status, s.status_reason, s.created_by_job, s.created_at,
       s.live_at, s.completed_at, s.root_path, s.when_ as "when", s.tar_sha256, s.tar_size, s.archive_sha256,
       s.archive_size, s.file_count, s.chunk_count, s.manifest::text as manifest_json, s.last_used_at
      """;

  /**
   * Records a new pending set with its ordered chunk list, adding the chunks the catalog did not know. The
   * caller stores every chunk in the object store before calling this (a manifest never names a missing chunk).
   *
   * @throws IllegalArgumentException if the set is not pending or the chunk list does not describe its tar
   *                                  stream (ords 0..n-1 in order, contiguous offsets, sizes adding up)
   */
  @Transaction
  default void insertPending(SetRow set, List<ChunkRefRow> chunks) {
    if (set.status() != SetStatus.PENDING) {
      throw new IllegalArgumentException("a new set must be pending, " + set.setId() + " is " + set.status());
    }
    checkChunkList(set, chunks);
    insertSet(set);
    insertChunksIfAbsent(chunks);
    insertChunkRefs(set.setId(), chunks);
  }

  private static void checkChunkList(SetRow set, List<ChunkRefRow> chunks) {
    if (chunks.size() != set.chunkCount()) {
      throw new IllegalArgumentException("set " + set.setId() + " says " + set.chunkCount()
          + " chunks but " + chunks.size() + " were given");
    }
    long offset = 0;
    for (int i = 0; i < chunks.size(); i++) {
      ChunkRefRow c = chunks.get(i);
      if (c.ord() != i || c.rawOffset() != offset) {
        throw new IllegalArgumentException("chunk " + i + " of set " + set.setId() + " has ord " + c.ord()
            + " and offset " + c.rawOffset() + ", expected " + i + " and " + offset);
      }
      offset += c.rawSize();
    }
    if (offset != set.tarSize()) {
      throw new IllegalArgumentException("chunks of set " + set.setId() + " add up to " + offset
          + " bytes but its tar stream has " + set.tarSize());
    }
  }

  @SqlUpdate("""
      insert into sets (set_id, owner, name, scope, status, status_reason, created_by_job, created_at,
                root_path, when_, tar_sha256, tar_size, archive_sha256, archive_size, file_count,
                chunk_count, manifest, last_used_at)
      values (:s.setId, :s.owner, :s.name, :s.scope, 'pending', :s.statusReason, :s.createdByJob, :s.createdAt,
          :s.rootPath, :s.when, :s.tarSha256, :s.tarSize, :s.archiveSha256, :s.archiveSize, :s.fileCount,
          :s.chunkCount, cast(:s.manifestJson as jsonb), :s.lastUsedAt)
      """)
  void insertSet(@BindMethods("s") SetRow set);

  @SqlBatch("""
      insert into chunks (sha256, raw_size, stored_size) values (:c.chunkSha256, :c.rawSize, :c.storedSize)
      on conflict (sha256) do nothing
      """)
  void insertChunksIfAbsent(@BindMethods("c") List<ChunkRefRow> chunks);

  @SqlBatch("""
      insert into set_chunks (set_id, ord, chunk_sha256, raw_offset, raw_size, stored_size)
      values (:setId, :c.ord, :c.chunkSha256, :c.rawOffset, :c.rawSize, :c.storedSize)
      """)
  void insertChunkRefs(@Bind("setId") String setId, @BindMethods("c") List<ChunkRefRow> chunks);

  @SqlQuery("select " + SET_COLUMNS + " from sets where set_id = :setId")
  Optional<SetRow> find(@Bind("setId") String setId);

  /** The job's sets still waiting for its completion, by set id. */
  @SqlQuery("select " + SET_COLUMNS + " from sets where created_by_job = :jobId and status = 'pending' order by set_id")
  List<SetRow> pendingForJob(@Bind("jobId") String jobId);

  /** The job's sets that are live (heads point at them), by set id. */
  @SqlQuery("select " + SET_COLUMNS + " from sets where created_by_job = :jobId and status = 'live' order by set_id")
  List<SetRow> liveForJob(@Bind("jobId") String jobId);

  /**
   * Makes a pending set live and moves its head forward, in the caller's transaction. The head moves only if the
   * set is newer in (completed_at, set_id) order than the head's current set, so a late or replayed completion of
   * an older job never moves a head back; the set it replaced becomes {@code superseded}. A set that is older
   * than the current head becomes {@code superseded} at once (it is valid, just not the newest).
   *
   * <p>Safe against concurrent callers: the set is claimed by a conditional update (a second caller for the same
   * set waits, then finds it no longer pending), and the head by one conditional upsert (see
   * {@link HeadDao#moveForward}).
   *
   * @param completedAt the creating job's completion time
   * @return whether the head now points at this set; false also when the set was not pending (unknown, already
   *         live, discarded, ...), in which case nothing changed
   */
  @Transaction
  default boolean markLive(String setId, Instant completedAt) {
    Objects.requireNonNull(completedAt, "completedAt");
    Optional<SetRow> claimed = claimLive(setId, completedAt);
    if (claimed.isEmpty()) {
      return false;
    }
    SetRow set = claimed.get();
    HeadDao heads = getHandle().attach(HeadDao.class);
    boolean moved = heads.moveForward(set.owner(), set.name(), set.scope(), setId, completedAt).isPresent();
    if (moved) {
      supersedeOthers(set.owner(), set.name(), set.scope(), setId);
    } else {
      supersedeLate(setId);
    }
    return moved;
  }

  @SqlQuery("update sets set status = 'live', status_reason = null, completed_at = :completedAt, live_at = now() "
      + "where set_id = :setId and status = 'pending' returning " + SET_COLUMNS)
  Optional<SetRow> claimLive(@Bind("setId") String setId, @Bind("completedAt") Instant completedAt);

  @SqlUpdate("""
      update sets set status = 'superseded', status_reason = 'replaced by ' || :setId
      where owner = :owner and name = :name and scope = :scope and status = 'live' and set_id <> :setId
      """)
  int supersedeOthers(@Bind("owner") String owner, @Bind("name") String name, @Bind("scope") String scope,
            @Bind("setId") String setId);

  @SqlUpdate("""
      update sets set status = 'superseded', status_reason = 'older than the current head', live_at = null
      where set_id = :setId
      """)
  int supersedeLate(@Bind("setId") String setId);

  /**
   * Discards a pending set (its job failed or was cancelled, or the set was rejected).
   *
   * @return false if the set was not pending
   */
  @SqlUpdate("update sets set status = 'discarded', status_reason = :reason "
      + "where set_id = :setId and status = 'pending'")
  boolean markDiscarded(@Bind("setId") String setId, @Bind("reason") String reason);

  /** Records a use of the set at {@code at}; never moves {@code last_used_at} back. */
  @SqlUpdate("update sets set last_used_at = greatest(last_used_at, :at) where set_id = :setId")
  boolean touch(@Bind("setId") String setId, @Bind("at") Instant at);

  /** The set's chunks in stream order. */
  @SqlQuery("select ord, chunk_sha256, raw_offset, raw_size, stored_size from set_chunks "
      + "where set_id = :setId order by ord")
  List<ChunkRefRow> chunksOf(@Bind("setId") String setId);

  /** The owner's sets matching {@code filter}, newest first (created_at, then set id). */
  default List<SetRow> list(String owner, SetFilter filter) {
    return list(owner, filter.name(), filter.scope(), filter.status() == null ? null : filter.status().db(),
        filter.createdByJob(), filter.createdFrom(), filter.createdTo(), filter.limit());
  }

  @SqlQuery("select " + SET_COLUMNS + """
       from sets
      where owner = :owner
        and (cast(:name as text) is null or name = :name)
        and (cast(:scope as text) is null or scope = :scope)
        and (cast(:status as text) is null or status = :status)
        and (cast(:job as text) is null or created_by_job = :job)
        and (cast(:from as timestamptz) is null or created_at >= :from)
        and (cast(:to as timestamptz) is null or created_at < :to)
      order by created_at desc, set_id desc
      limit :limit
      """)
  List<SetRow> list(@Bind("owner") String owner, @Bind("name") String name, @Bind("scope") String scope,
            @Bind("status") String status, @Bind("job") String createdByJob, @Bind("from") Instant from,
            @Bind("to") Instant to, @Bind("limit") int limit);

  /**
   * Locks up to {@code limit} dead sets (invalidated, evicted, discarded) whose manifest object is still stored; rows
   * another collector holds are skipped.
   */
  @SqlQuery("""
      select set_id from sets
      where status in ('invalidated', 'evicted', 'discarded') and manifest_deleted_at is null
      order by set_id
      limit :limit
      for update skip locked
      """)
  List<String> lockDeadManifests(@Bind("limit") int limit);

  /** Records that the manifest objects of {@code setIds} are deleted. */
  @SqlUpdate("update sets set manifest_deleted_at = :at where set_id = any(:ids)")
  int markManifestsDeleted(@Bind("ids") String[] setIds, @Bind("at") Instant at);
}
