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
   * Records every event id of {@code records} (in order) and says for each what {@link EventDao#markProcessed} would
   * have said had they been recorded one after the other: the first occurrence of an id not seen before is
   * {@link EventMark#NEW}; any other occurrence is {@link EventMark#DUPLICATE} if its digest equals that of the id's
   * first recording, else {@link EventMark#CONFLICT}. One insert ({@code on conflict do nothing returning}) plus, only
   * when some id was already known, one select of the known digests. A concurrent transaction recording the same id
   * makes the insert wait for it, as with the per-event statement.
   */
  public List<EventMark> markProcessed(List<EventRecord> records) {
    List<EventMark> marks = new ArrayList<>(records.size());
    if (records.isEmpty()) {
      return marks;
    }
    int n = records.size();
    String[] ids = new String[n];
    String[] types = new String[n];
    String[] digests = new String[n];
    String[] topics = new String[n];
    Integer[] partitions = new Integer[n];
    Long[] offsets = new Long[n];
    for (int i = 0; i < n; i++) {
      EventRecord r = records.get(i);
      ids[i] = r.eventId();
      types[i] = r.type();
      digests[i] = r.digest();
      topics[i] = r.topic();
      partitions[i] = r.partition();
      offsets[i] = r.offset();
    }
    Set<String> inserted = new HashSet<>();
    run("""
        insert into processed_events (event_id, type, digest, source_topic, source_partition, source_offset)
        select e, t, d, tp, p, o
        from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::int4[], ?::int8[]) with ordinality
             as u(e, t, d, tp, p, o, ord)
        order by ord
        on conflict (event_id) do nothing
        returning event_id
        """, ps -> {
          Connection c = ps.getConnection();
          ps.setArray(1, c.createArrayOf("text", ids));
          ps.setArray(2, c.createArrayOf("text", types));
          ps.setArray(3, c.createArrayOf("text", digests));
          ps.setArray(4, c.createArrayOf("text", topics));
          ps.setArray(5, c.createArrayOf("int4", partitions));
          ps.setArray(6, c.createArrayOf("int8", offsets));
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              inserted.add(rs.getString(1));
            }
          }
          return null;
        });
    // the digest each id was first recorded with: ours if this statement inserted it, the stored one otherwise
    Map<String, String> known = new HashMap<>();
    Set<String> older = new HashSet<>();
    for (EventRecord r : records) {
      if (!inserted.contains(r.eventId())) {
        older.add(r.eventId());
      }
    }
    if (!older.isEmpty()) {
      String[] wanted = older.toArray(String[]::new);
      run("select event_id, digest from processed_events where event_id = any(?::text[])", ps -> {
        ps.setArray(1, ps.getConnection().createArrayOf("text", wanted));
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            known.put(rs.getString(1), rs.getString(2));
          }
        }
        return null;
      });
    }
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

  /** The policies of those of {@code owners} that have one (the others get {@link OwnerPolicyRow#defaults}). */
  public Map<String, OwnerPolicyRow> policies(Collection<String> owners) {
    Map<String, OwnerPolicyRow> out = new HashMap<>();
    if (owners.isEmpty()) {
      return out;
    }
    String[] wanted = owners.toArray(String[]::new);
    run("""
        select owner, default_branch_mode, quota_bytes, idle_days, when_default, updated_at
        from owner_policies where owner = any(?::text[])
        """, ps -> {
          ps.setArray(1, ps.getConnection().createArrayOf("text", wanted));
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              out.put(rs.getString(1), new OwnerPolicyRow(rs.getString(1), rs.getString(2), rs.getLong(3),
                  rs.getInt(4), rs.getString(5), instant(rs.getTimestamp(6))));
            }
          }
          return null;
        });
    return out;
  }

  /** Which of {@code jobIds} the catalog knows. */
  public Set<String> knownJobs(Collection<String> jobIds) {
    Set<String> out = new HashSet<>();
    if (jobIds.isEmpty()) {
      return out;
    }
    String[] wanted = jobIds.toArray(String[]::new);
    run("select job_id from jobs where job_id = any(?::text[])", ps -> {
      ps.setArray(1, ps.getConnection().createArrayOf("text", wanted));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
      return null;
    });
    return out;
  }

  /** The pending sets of each of {@code jobIds}, by set id (jobs without any are absent). */
  public Map<String, List<SetRow>> pendingForJobs(Collection<String> jobIds) {
    Map<String, List<SetRow>> out = new HashMap<>();
    for (SetRow set : sets("created_by_job = any(?::text[]) and status = 'pending' order by set_id", jobIds)) {
      out.computeIfAbsent(set.createdByJob(), j -> new ArrayList<>()).add(set);
    }
    return out;
  }

  /** The sets of {@code setIds} that exist. */
  public Map<String, SetRow> findSets(Collection<String> setIds) {
    Map<String, SetRow> out = new HashMap<>();
    for (SetRow set : sets("set_id = any(?::text[])", setIds)) {
      out.put(set.setId(), set);
    }
    return out;
  }

  private List<SetRow> sets(String where, Collection<String> values) {
    List<SetRow> out = new ArrayList<>();
    if (values.isEmpty()) {
      return out;
    }
    String[] wanted = values.toArray(String[]::new);
    run("select " + SetDao.SET_COLUMNS + " from sets where " + where, ps -> {
      ps.setArray(1, ps.getConnection().createArrayOf("text", wanted));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new SetRow(rs.getString("set_id"), rs.getString("owner"), rs.getString("name"),
              rs.getString("scope"), SetStatus.fromDb(rs.getString("status")), rs.getString("status_reason"),
              rs.getString("created_by_job"), instant(rs.getTimestamp("created_at")),
              instant(rs.getTimestamp("live_at")), instant(rs.getTimestamp("completed_at")),
              rs.getString("root_path"), rs.getString("when"), rs.getString("tar_sha256"), rs.getLong("tar_size"),
              rs.getString("archive_sha256"), rs.getLong("archive_size"), rs.getInt("file_count"),
              rs.getInt("chunk_count"), rs.getString("manifest_json"), instant(rs.getTimestamp("last_used_at"))));
        }
      }
      return null;
    });
    return out;
  }

  /**
   * The live set each of {@code keys} points to, as {@link HeadDao#liveHeads} reads it (a head whose set is not live
   * counts as none); keys without a live head are absent.
   */
  public Map<HeadKey, String> liveHeads(Collection<HeadKey> keys) {
    Map<HeadKey, String> out = new HashMap<>();
    if (keys.isEmpty()) {
      return out;
    }
    int n = keys.size();
    String[] owners = new String[n];
    String[] names = new String[n];
    String[] scopes = new String[n];
    int i = 0;
    for (HeadKey k : keys) {
      owners[i] = k.owner();
      names[i] = k.name();
      scopes[i] = k.scope();
      i++;
    }
    run("""
        select h.owner, h.name, h.scope, h.set_id
        from unnest(?::text[], ?::text[], ?::text[]) as k(owner, name, scope)
        join heads h on h.owner = k.owner and h.name = k.name and h.scope = k.scope
        join sets s on s.set_id = h.set_id
        where s.status = 'live'
        """, ps -> {
          Connection c = ps.getConnection();
          ps.setArray(1, c.createArrayOf("text", owners));
          ps.setArray(2, c.createArrayOf("text", names));
          ps.setArray(3, c.createArrayOf("text", scopes));
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              out.put(new HeadKey(rs.getString(1), rs.getString(2), rs.getString(3)), rs.getString(4));
            }
          }
          return null;
        });
    return out;
  }

  /** The uses of each of {@code jobIds}, each job's in the order of {@link UseDao#forJob}. */
  public Map<String, List<UseRow>> usesForJobs(Collection<String> jobIds) {
    Map<String, List<UseRow>> out = new HashMap<>();
    if (jobIds.isEmpty()) {
      return out;
    }
    String[] wanted = jobIds.toArray(String[]::new);
    run("""
        select job_id, set_id, kind, name, scope, fallback_level, at from uses
        where job_id = any(?::text[]) order by job_id, at, set_id, kind
        """, ps -> {
          ps.setArray(1, ps.getConnection().createArrayOf("text", wanted));
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              UseRow use = new UseRow(rs.getString(1), rs.getString(2), UseKind.fromDb(rs.getString(3)),
                  rs.getString(4), rs.getString(5), rs.getInt(6), instant(rs.getTimestamp(7)));
              out.computeIfAbsent(use.jobId(), j -> new ArrayList<>()).add(use);
            }
          }
          return null;
        });
    return out;
  }

  /**
   * {@link JobDao#upsertStarted} for many jobs in one statement. At most one row per job id (a statement cannot update
   * a row twice): the caller passes, per job, the last row the events would have written.
   */
  public void upsertStarted(Collection<JobRow> jobs) {
    if (jobs.isEmpty()) {
      return;
    }
    int n = jobs.size();
    String[] ids = new String[n];
    String[] owners = new String[n];
    String[] repoOwners = new String[n];
    String[] repoNames = new String[n];
    Long[] repoIds = new Long[n];
    String[] shas = new String[n];
    String[] branches = new String[n];
    String[] triggers = new String[n];
    Integer[] prs = new Integer[n];
    Boolean[] forks = new Boolean[n];
    String[] defaults = new String[n];
    String[] targets = new String[n];
    String[] jobNames = new String[n];
    String[] declared = new String[n];
    String[] writes = new String[n];
    String[] reads = new String[n];
    String[] started = new String[n];
    int i = 0;
    for (JobRow j : jobs) {
      ids[i] = j.jobId();
      owners[i] = j.owner();
      repoOwners[i] = j.repoOwner();
      repoNames[i] = j.repoName();
      repoIds[i] = j.repoId();
      shas[i] = j.headSha();
      branches[i] = j.headBranch();
      triggers[i] = j.trigger();
      prs[i] = j.pullRequest();
      forks[i] = j.fork();
      defaults[i] = j.defaultBranch();
      targets[i] = j.target();
      jobNames[i] = j.jobName();
      declared[i] = j.declaredJson();
      writes[i] = j.writeScope();
      reads[i] = textArrayLiteral(j.readScopes());
      started[i] = j.startedAt().toString();
      i++;
    }
    run("""
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
        """, ps -> {
          Connection c = ps.getConnection();
          ps.setArray(1, c.createArrayOf("text", ids));
          ps.setArray(2, c.createArrayOf("text", owners));
          ps.setArray(3, c.createArrayOf("text", repoOwners));
          ps.setArray(4, c.createArrayOf("text", repoNames));
          ps.setArray(5, c.createArrayOf("int8", repoIds));
          ps.setArray(6, c.createArrayOf("text", shas));
          ps.setArray(7, c.createArrayOf("text", branches));
          ps.setArray(8, c.createArrayOf("text", triggers));
          ps.setArray(9, c.createArrayOf("int4", prs));
          ps.setArray(10, c.createArrayOf("bool", forks));
          ps.setArray(11, c.createArrayOf("text", defaults));
          ps.setArray(12, c.createArrayOf("text", targets));
          ps.setArray(13, c.createArrayOf("text", jobNames));
          ps.setArray(14, c.createArrayOf("text", declared));
          ps.setArray(15, c.createArrayOf("text", writes));
          ps.setArray(16, c.createArrayOf("text", reads));
          ps.setArray(17, c.createArrayOf("text", started));
          ps.executeUpdate();
          return null;
        });
  }

  /**
   * {@link JobDao#markCompleted} for many jobs: the first completion of a job wins. At most one completion per job
   * id (the caller keeps the first).
   */
  public void markCompleted(Collection<Completion> completions) {
    if (completions.isEmpty()) {
      return;
    }
    int n = completions.size();
    String[] ids = new String[n];
    String[] results = new String[n];
    String[] times = new String[n];
    int i = 0;
    for (Completion c : completions) {
      ids[i] = c.jobId();
      results[i] = c.result();
      times[i] = c.completedAt().toString();
      i++;
    }
    run("""
        update jobs set result = u.r, completed_at = u.c::timestamptz
        from unnest(?::text[], ?::text[], ?::text[]) as u(j, r, c)
        where jobs.job_id = u.j and jobs.completed_at is null
        """, ps -> {
          Connection c = ps.getConnection();
          ps.setArray(1, c.createArrayOf("text", ids));
          ps.setArray(2, c.createArrayOf("text", results));
          ps.setArray(3, c.createArrayOf("text", times));
          ps.executeUpdate();
          return null;
        });
  }

  /** {@link UseDao#record} for many uses: the first record of (job, set, kind) wins, here or from earlier. */
  public void recordUses(List<UseRow> uses) {
    if (uses.isEmpty()) {
      return;
    }
    // one row per key, the first: the statement then never meets its own rows
    Map<List<Object>, UseRow> first = new LinkedHashMap<>();
    for (UseRow u : uses) {
      first.putIfAbsent(List.of(u.jobId(), u.setId(), u.kind()), u);
    }
    int n = first.size();
    String[] jobs = new String[n];
    String[] sets = new String[n];
    String[] kinds = new String[n];
    String[] names = new String[n];
    String[] scopes = new String[n];
    Integer[] levels = new Integer[n];
    String[] ats = new String[n];
    int i = 0;
    for (UseRow u : first.values()) {
      jobs[i] = u.jobId();
      sets[i] = u.setId();
      kinds[i] = u.kind().db();
      names[i] = u.name();
      scopes[i] = u.scope();
      levels[i] = u.fallbackLevel();
      ats[i] = u.at().toString();
      i++;
    }
    run("""
        insert into uses (job_id, set_id, kind, name, scope, fallback_level, at)
        select j, s, k, nm, sc, l, a::timestamptz
        from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::int4[], ?::text[]) with ordinality
             as u(j, s, k, nm, sc, l, a, ord)
        order by ord
        on conflict (job_id, set_id, kind) do nothing
        """, ps -> {
          Connection c = ps.getConnection();
          ps.setArray(1, c.createArrayOf("text", jobs));
          ps.setArray(2, c.createArrayOf("text", sets));
          ps.setArray(3, c.createArrayOf("text", kinds));
          ps.setArray(4, c.createArrayOf("text", names));
          ps.setArray(5, c.createArrayOf("text", scopes));
          ps.setArray(6, c.createArrayOf("int4", levels));
          ps.setArray(7, c.createArrayOf("text", ats));
          ps.executeUpdate();
          return null;
        });
  }

  /** {@link OutboxDao#append} for many rows, which get increasing {@code seq}s in list order. */
  public void appendOutbox(List<OutboxAppend> rows) {
    if (rows.isEmpty()) {
      return;
    }
    int n = rows.size();
    String[] ids = new String[n];
    String[] topics = new String[n];
    String[] keys = new String[n];
    byte[][] payloads = new byte[n][];
    String[] headers = new String[n];
    for (int i = 0; i < n; i++) {
      OutboxAppend r = rows.get(i);
      ids[i] = r.eventId();
      topics[i] = r.topic();
      keys[i] = r.key();
      payloads[i] = r.payload();
      headers[i] = r.headersJson();
    }
    run("""
        insert into outbox (event_id, topic, key, payload, headers)
        select e, t, k, p, h::jsonb
        from unnest(?::text[], ?::text[], ?::text[], ?::bytea[], ?::text[]) with ordinality as u(e, t, k, p, h, ord)
        order by ord
        """, ps -> {
          Connection c = ps.getConnection();
          ps.setArray(1, c.createArrayOf("text", ids));
          ps.setArray(2, c.createArrayOf("text", topics));
          ps.setArray(3, c.createArrayOf("text", keys));
          ps.setArray(4, c.createArrayOf("bytea", payloads));
          ps.setArray(5, c.createArrayOf("text", headers));
          ps.executeUpdate();
          return null;
        });
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

  @FunctionalInterface
  private interface Work<R> {
    R run(PreparedStatement ps) throws SQLException;
  }

  private <R> R run(String sql, Work<R> work) {
    Connection c = handle.getConnection();
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      return work.run(ps);
    } catch (SQLException e) {
      throw new UnableToExecuteStatementException(e, null);
    }
  }

  private static Instant instant(Timestamp ts) {
    return ts == null ? null : ts.toInstant();
  }
}
