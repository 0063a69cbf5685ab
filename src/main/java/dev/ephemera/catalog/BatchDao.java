package dev.ephemera.catalog;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.function.IntFunction;

import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * Set-based statements for applying a whole batch of consumed events in one transaction: each method is ONE statement
 * (one round trip) however many rows it reads or writes, where the per-event DAOs ({@link EventDao}, {@link JobDao},
 * {@link UseDao}, {@link OutboxDao}, ...) need one per row. Same tables, same conflict rules as those DAOs; the caller
 * keeps the order-dependent logic (which row wins) in memory and hands over rows already reduced to one per key where a
 * statement could not touch a row twice.
 *
 * <p>Plain JDBC on the transaction's connection: the arrays are bound with {@link Connection#createArrayOf} and
 * unnested on the server ({@code unnest(?::text[], ...) with ordinality}), so a statement's text does not depend on
 * the batch size and the rows go in array order.
 *
 * <p>A batch needs two round trips whatever it holds: {@link #recordAndRead} records the event ids and reads everything
 * the decisions need, {@link #write} writes every row. Each sends its statements as one multi-statement prepared
 * statement, which PostgreSQL's driver sends in one go (one Sync) and the server runs in order; an error in any
 * statement fails the call (and so the transaction).
 */
public final class BatchDao {

  /** A consumed record to record in {@code processed_events}. */
  public record EventRecord(String eventId, String type, String digest, String topic, int partition, long offset) {
    public EventRecord {
      Objects.requireNonNull(eventId, "eventId");
      Objects.requireNonNull(type, "type");
      Objects.requireNonNull(digest, "digest");
      Objects.requireNonNull(topic, "topic");
    }
  }

  /** (owner, name, scope): the key of a head. */
  public record HeadKey(String owner, String name, String scope) {}

  /** A job's completion to record. */
  public record Completion(String jobId, String result, Instant completedAt) {}

  /** A row to append to the outbox. */
  public record OutboxAppend(String eventId, String topic, String key, byte[] payload, String headersJson) {}

  private final Handle handle;

  BatchDao(Handle handle) {
    this.handle = Objects.requireNonNull(handle, "handle");
  }

  /**
   * What {@link #recordAndRead} found.
   *
   * @param marks per record, in order, what {@link EventDao#markProcessed} would have said had they been recorded one
   *     after the other
   * @param policies the policies of those owners asked for that have one
   * @param knownJobs which of the completed jobs asked for the catalog knows
   * @param pending the pending sets of each completed job asked for (jobs without any are absent)
   * @param uses the uses of each completed job asked for, each job's in the order of {@link UseDao#forJob}
   * @param usedSets the sets of every use of those completed jobs that restored something
   * @param heads the live set of each head key asked for that has one
   */
  public record Reads(
      List<EventMark> marks,
      Map<String, OwnerPolicyRow> policies,
      Set<String> knownJobs,
      Map<String, List<SetRow>> pending,
      Map<String, List<UseRow>> uses,
      Map<String, SetRow> usedSets,
      Map<HeadKey, String> heads) {}

  /**
   * In one round trip: records every event id of {@code records} (in order), then reads the policies of
   * {@code owners}, the jobs, pending sets, uses and used sets of {@code completedJobs}, and the live heads of
   * {@code headKeys}. Asking for more than the new events need is harmless (the caller looks up what it needs).
   *
   * <p>The marks: the first occurrence of an id not seen before is {@link EventMark#NEW}; any other occurrence is
   * {@link EventMark#DUPLICATE} if its digest equals that of the id's first recording, else {@link EventMark#CONFLICT}.
   * The insert is {@code on conflict do nothing returning}; only when some id was already known does one more select
   * read the known digests. A concurrent transaction recording the same id makes the insert wait for it, as with the
   * per-event statement.
   */
  public Reads recordAndRead(
      List<EventRecord> records, Collection<String> owners, Collection<String> completedJobs,
      Collection<HeadKey> headKeys) {
    RoundTrip trip = new RoundTrip();
    Set<String> inserted = new HashSet<>();
    if (!records.isEmpty()) {
      trip.add("""
          insert into processed_events (event_id, type, digest, source_topic, source_partition, source_offset)
          select e, t, d, tp, p, o
          from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::int4[], ?::int8[]) with ordinality
               as u(e, t, d, tp, p, o, ord)
          order by ord
          on conflict (event_id) do nothing
          returning event_id
          """, List.of(text(records, EventRecord::eventId), text(records, EventRecord::type),
              text(records, EventRecord::digest), text(records, EventRecord::topic),
              column("int4", records, EventRecord::partition, Integer[]::new),
              column("int8", records, EventRecord::offset, Long[]::new)),
          rs -> inserted.add(rs.getString(1)));
    }
    Map<String, OwnerPolicyRow> policies = new HashMap<>();
    if (!owners.isEmpty()) {
      trip.add("""
          select owner, default_branch_mode, quota_bytes, idle_days, when_default, updated_at
          from owner_policies where owner = any(?::text[])
          """, List.of(array("text", owners.toArray(String[]::new))),
          rs -> policies.put(rs.getString(1), new OwnerPolicyRow(rs.getString(1), rs.getString(2), rs.getLong(3),
              rs.getInt(4), rs.getString(5), instant(rs.getTimestamp(6)))));
    }
    Set<String> knownJobs = new HashSet<>();
    Map<String, List<SetRow>> pending = new HashMap<>();
    Map<String, List<UseRow>> uses = new HashMap<>();
    Map<String, SetRow> usedSets = new HashMap<>();
    if (!completedJobs.isEmpty()) {
      Bind jobs = array("text", completedJobs.toArray(String[]::new));
      trip.add("select job_id from jobs where job_id = any(?::text[])", List.of(jobs),
          rs -> knownJobs.add(rs.getString(1)));
      trip.add("select " + SetDao.SET_COLUMNS + " from sets"
              + " where created_by_job = any(?::text[]) and status = 'pending' order by set_id", List.of(jobs),
          rs -> {
            SetRow set = setRow(rs);
            pending.computeIfAbsent(set.createdByJob(), j -> new ArrayList<>()).add(set);
          });
      trip.add("""
          select job_id, set_id, kind, name, scope, fallback_level, at from uses
          where job_id = any(?::text[]) order by job_id, at, set_id, kind
          """, List.of(jobs),
          rs -> {
            UseRow use = new UseRow(rs.getString(1), rs.getString(2), UseKind.fromDb(rs.getString(3)),
                rs.getString(4), rs.getString(5), rs.getInt(6), instant(rs.getTimestamp(7)));
            uses.computeIfAbsent(use.jobId(), j -> new ArrayList<>()).add(use);
          });
      // the sets an ephemera.used will list: those of every use of a job that restored something
      trip.add("select " + SetDao.SET_COLUMNS + " from sets where set_id in ("
              + "select u.set_id from uses u where u.job_id = any(?::text[]) and exists ("
              + "select 1 from uses r where r.job_id = u.job_id and r.kind = '" + UseKind.RESTORED.db() + "'))",
          List.of(jobs),
          rs -> {
            SetRow set = setRow(rs);
            usedSets.put(set.setId(), set);
          });
    }
    Map<HeadKey, String> heads = new HashMap<>();
    if (!headKeys.isEmpty()) {
      trip.add("""
          select h.owner, h.name, h.scope, h.set_id
          from unnest(?::text[], ?::text[], ?::text[]) as k(owner, name, scope)
          join heads h on h.owner = k.owner and h.name = k.name and h.scope = k.scope
          join sets s on s.set_id = h.set_id
          where s.status = 'live'
          """, List.of(text(headKeys, HeadKey::owner), text(headKeys, HeadKey::name), text(headKeys, HeadKey::scope)),
          rs -> heads.put(new HeadKey(rs.getString(1), rs.getString(2), rs.getString(3)), rs.getString(4)));
    }
    trip.run();
    return new Reads(marks(records, inserted), policies, knownJobs, pending, uses, usedSets, heads);
  }

  /** The marks of {@code records}, given the ids the insert recorded (reads the digests of the others). */
  private List<EventMark> marks(List<EventRecord> records, Set<String> inserted) {
    // the digest each id was first recorded with: ours if this statement inserted it, the stored one otherwise
    Map<String, String> known = new HashMap<>();
    Set<String> older = new HashSet<>();
    for (EventRecord r : records) {
      if (!inserted.contains(r.eventId())) {
        older.add(r.eventId());
      }
    }
    if (!older.isEmpty()) {
      new RoundTrip()
          .add("select event_id, digest from processed_events where event_id = any(?::text[])",
              List.of(array("text", older.toArray(String[]::new))),
              rs -> known.put(rs.getString(1), rs.getString(2)))
          .run();
    }
    List<EventMark> marks = new ArrayList<>(records.size());
    Set<String> claimed = new HashSet<>();
    for (EventRecord r : records) {
      if (inserted.contains(r.eventId()) && claimed.add(r.eventId())) {
        known.put(r.eventId(), r.digest());
        marks.add(EventMark.NEW);
        continue;
      }
      String digest = known.get(r.eventId());
      if (digest == null) {
        throw new IllegalStateException("event " + r.eventId() + " vanished while being recorded");
      }
      marks.add(digest.equals(r.digest()) ? EventMark.DUPLICATE : EventMark.CONFLICT);
    }
    return marks;
  }

  /**
   * In one round trip, in this order: {@link JobDao#upsertStarted} for {@code jobs}, {@link UseDao#record} for
   * {@code uses} (the first record of (job, set, kind) wins, here or from earlier), {@link JobDao#markCompleted} for
   * {@code completions} (the first completion of a job wins), {@link OutboxDao#append} for {@code outbox} (increasing
   * {@code seq}s in list order). At most one job row and one completion per job id (a statement cannot update a row
   * twice): the caller passes, per job, the last row the events would have written and the first completion.
   */
  public void write(
      Collection<JobRow> jobs, List<UseRow> uses, Collection<Completion> completions, List<OutboxAppend> outbox) {
    RoundTrip trip = new RoundTrip();
    upsertStarted(trip, jobs);
    recordUses(trip, uses);
    markCompleted(trip, completions);
    appendOutbox(trip, outbox);
    trip.run();
  }

  private static void upsertStarted(RoundTrip trip, Collection<JobRow> jobs) {
    if (jobs.isEmpty()) {
      return;
    }
    trip.add("""
        insert into jobs (job_id, owner, repo_owner, repo_name, repo_id, head_sha, head_branch, trigger,
                  pull_request, fork, default_branch, target, job_name, declared, write_scope,
                  read_scopes, started_at)
        select id, ow, ro, rn, ri, sha, br, tr, pr, fk, db, tg, jn, dc::jsonb, ws, rs::text[], st::timestamptz
        from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::int8[], ?::text[], ?::text[], ?::text[],
                    ?::int4[], ?::bool[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[],
                    ?::text[]) with ordinality
             as u(id, ow, ro, rn, ri, sha, br, tr, pr, fk, db, tg, jn, dc, ws, rs, st, ord)
        order by ord
        on conflict (job_id) do update set
          owner = excluded.owner, repo_owner = excluded.repo_owner, repo_name = excluded.repo_name,
          repo_id = excluded.repo_id, head_sha = excluded.head_sha, head_branch = excluded.head_branch,
          trigger = excluded.trigger, pull_request = excluded.pull_request, fork = excluded.fork,
          default_branch = excluded.default_branch, target = excluded.target, job_name = excluded.job_name,
          declared = excluded.declared, write_scope = excluded.write_scope, read_scopes = excluded.read_scopes,
          started_at = excluded.started_at
        """, List.of(text(jobs, JobRow::jobId), text(jobs, JobRow::owner), text(jobs, JobRow::repoOwner),
            text(jobs, JobRow::repoName), column("int8", jobs, JobRow::repoId, Long[]::new),
            text(jobs, JobRow::headSha), text(jobs, JobRow::headBranch), text(jobs, JobRow::trigger),
            column("int4", jobs, JobRow::pullRequest, Integer[]::new),
            column("bool", jobs, JobRow::fork, Boolean[]::new),
            text(jobs, JobRow::defaultBranch), text(jobs, JobRow::target), text(jobs, JobRow::jobName),
            text(jobs, JobRow::declaredJson), text(jobs, JobRow::writeScope),
            text(jobs, j -> textArrayLiteral(j.readScopes())), text(jobs, j -> j.startedAt().toString())), null);
  }

  private static void markCompleted(RoundTrip trip, Collection<Completion> completions) {
    if (completions.isEmpty()) {
      return;
    }
    trip.add("""
        update jobs set result = u.r, completed_at = u.c::timestamptz
        from unnest(?::text[], ?::text[], ?::text[]) as u(j, r, c)
        where jobs.job_id = u.j and jobs.completed_at is null
        """, List.of(text(completions, Completion::jobId), text(completions, Completion::result),
            text(completions, c -> c.completedAt().toString())), null);
  }

  private static void recordUses(RoundTrip trip, List<UseRow> uses) {
    if (uses.isEmpty()) {
      return;
    }
    // one row per key, the first: the statement then never meets its own rows
    Map<List<Object>, UseRow> first = new LinkedHashMap<>();
    for (UseRow u : uses) {
      first.putIfAbsent(List.of(u.jobId(), u.setId(), u.kind()), u);
    }
    Collection<UseRow> kept = first.values();
    trip.add("""
        insert into uses (job_id, set_id, kind, name, scope, fallback_level, at)
        select j, s, k, nm, sc, l, a::timestamptz
        from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::int4[], ?::text[]) with ordinality
             as u(j, s, k, nm, sc, l, a, ord)
        order by ord
        on conflict (job_id, set_id, kind) do nothing
        """, List.of(text(kept, UseRow::jobId), text(kept, UseRow::setId), text(kept, u -> u.kind().db()),
            text(kept, UseRow::name), text(kept, UseRow::scope),
            column("int4", kept, UseRow::fallbackLevel, Integer[]::new),
            text(kept, u -> u.at().toString())), null);
  }

  private static void appendOutbox(RoundTrip trip, List<OutboxAppend> rows) {
    if (rows.isEmpty()) {
      return;
    }
    trip.add("""
        insert into outbox (event_id, topic, key, payload, headers)
        select e, t, k, p, h::jsonb
        from unnest(?::text[], ?::text[], ?::text[], ?::bytea[], ?::text[]) with ordinality as u(e, t, k, p, h, ord)
        order by ord
        """, List.of(text(rows, OutboxAppend::eventId), text(rows, OutboxAppend::topic), text(rows, OutboxAppend::key),
            column("bytea", rows, OutboxAppend::payload, byte[][]::new), text(rows, OutboxAppend::headersJson)), null);
  }

  private static SetRow setRow(ResultSet rs) throws SQLException {
    return new SetRow(rs.getString("set_id"), rs.getString("owner"), rs.getString("name"),
        rs.getString("scope"), SetStatus.fromDb(rs.getString("status")), rs.getString("status_reason"),
        rs.getString("created_by_job"), instant(rs.getTimestamp("created_at")),
        instant(rs.getTimestamp("live_at")), instant(rs.getTimestamp("completed_at")),
        rs.getString("root_path"), rs.getString("when"), rs.getString("tar_sha256"), rs.getLong("tar_size"),
        rs.getString("archive_sha256"), rs.getLong("archive_size"), rs.getInt("file_count"),
        rs.getInt("chunk_count"), rs.getString("manifest_json"), instant(rs.getTimestamp("last_used_at")));
  }

  /** A Postgres array literal of {@code values} ({@code {"a","b"}}), for a text[] inside a text[] parameter. */
  static String textArrayLiteral(List<String> values) {
    StringBuilder b = new StringBuilder("{");
    for (int i = 0; i < values.size(); i++) {
      if (i > 0) {
        b.append(',');
      }
      b.append('"');
      String v = values.get(i);
      for (int k = 0; k < v.length(); k++) {
        char ch = v.charAt(k);
        if (ch == '"' || ch == '\\') {
          b.append('\\');
        }
        b.append(ch);
      }
      b.append('"');
    }
    return b.append('}').toString();
  }

  /** An array parameter: its element type and elements. */
  private record Bind(String type, Object[] elements) {}

  private static Bind array(String type, Object[] elements) {
    return new Bind(type, elements);
  }

  /** One field of every row, in order, as an SQL array of {@code type} (a column for {@code unnest}). */
  private static <R, T> Bind column(
      String type, Collection<R> rows, Function<? super R, T> field, IntFunction<T[]> newArray) {
    T[] values = newArray.apply(rows.size());
    int i = 0;
    for (R row : rows) {
      values[i++] = field.apply(row);
    }
    return array(type, values);
  }

  /** {@link #column} of text. */
  private static <R> Bind text(Collection<R> rows, Function<? super R, String> field) {
    return column("text", rows, field, String[]::new);
  }

  /** What a statement's rows are read into, row by row. */
  @FunctionalInterface
  private interface RowReader {
    void read(ResultSet rs) throws SQLException;
  }

  /**
   * Statements sent as one multi-statement prepared statement: PostgreSQL's driver sends them all before its one Sync,
   * so they cost one round trip, and the server runs them in order in the caller's transaction.
   */
  private final class RoundTrip {
    private final List<String> sql = new ArrayList<>();
    private final List<List<Bind>> binds = new ArrayList<>();
    private final List<RowReader> readers = new ArrayList<>();

    /** Adds a statement whose {@code ?}s take {@code params} in order; {@code rows} null for one without rows. */
    RoundTrip add(String statement, List<Bind> params, RowReader rows) {
      sql.add(statement.strip());
      binds.add(params);
      readers.add(rows);
      return this;
    }

    void run() {
      if (sql.isEmpty()) {
        return;
      }
      Connection c = handle.getConnection();
      try (PreparedStatement ps = c.prepareStatement(String.join(";\n", sql))) {
        int index = 1;
        for (List<Bind> params : binds) {
          for (Bind b : params) {
            ps.setArray(index++, c.createArrayOf(b.type(), b.elements()));
          }
        }
        boolean rows = ps.execute();
        for (int i = 0; i < sql.size(); i++) {
          if (rows) {
            try (ResultSet rs = ps.getResultSet()) {
              RowReader reader = readers.get(i);
              while (rs.next()) {
                if (reader != null) {
                  reader.read(rs);
                }
              }
            }
          } else if (ps.getUpdateCount() < 0) {
            throw new IllegalStateException("statement " + (i + 1) + " of " + sql.size() + " gave no result");
          }
          rows = ps.getMoreResults();
        }
      } catch (SQLException e) {
        throw new UnableToExecuteStatementException(e, null);
      }
    }
  }

  private static Instant instant(Timestamp ts) {
    return ts == null ? null : ts.toInstant();
  }
}
