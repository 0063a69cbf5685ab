package dev.ephemera.catalog;

import java.time.Instant;
import java.util.Optional;

import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.customizer.BindMethods;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** Jobs ({@code jobs}): written by {@code job.started}, completed by {@code job.completed}. */
@RegisterConstructorMapper(JobRow.class)
public interface JobDao {

  /**
   * Records a started job. Applying the same {@code job.started} again rewrites the same values; a completion
   * already recorded is kept.
   */
  @SqlUpdate("""
      insert into jobs (job_id, owner, repo_owner, repo_name, repo_id, head_sha, head_branch, trigger,
                pull_request, fork, default_branch, target, job_name, declared, write_scope,
                read_scopes, started_at)
      values (:j.jobId, :j.owner, :j.repoOwner, :j.repoName, :j.repoId, :j.headSha, :j.headBranch, :j.trigger,
          :j.pullRequest, :j.fork, :j.defaultBranch, :j.target, :j.jobName, cast(:j.declaredJson as jsonb),
          :j.writeScope, :readScopes, :j.startedAt)
      on conflict (job_id) do update set
        owner = excluded.owner, repo_owner = excluded.repo_owner, repo_name = excluded.repo_name,
        repo_id = excluded.repo_id, head_sha = excluded.head_sha, head_branch = excluded.head_branch,
        trigger = excluded.trigger, pull_request = excluded.pull_request, fork = excluded.fork,
        default_branch = excluded.default_branch, target = excluded.target, job_name = excluded.job_name,
        declared = excluded.declared, write_scope = excluded.write_scope, read_scopes = excluded.read_scopes,
        started_at = excluded.started_at
      """)
  void upsertStarted(@BindMethods("j") JobRow job, @Bind("readScopes") String[] readScopes);

  /** Records a started job (see {@link #upsertStarted(JobRow, String[])}). */
  default void upsertStarted(JobRow job) {
    upsertStarted(job, job.readScopes().toArray(String[]::new));
  }

  @SqlQuery("""
      select job_id, owner, repo_owner, repo_name, repo_id, head_sha, head_branch, trigger, pull_request, fork,
           default_branch, target, job_name, declared::text as declared_json, write_scope, read_scopes,
           started_at, completed_at, result
      from jobs where job_id = :jobId
      """)
  Optional<JobRow> find(@Bind("jobId") String jobId);

  /**
   * Records a job's completion.
   *
   * @param result {@code success | failure | cancelled}
   * @return false if the job is unknown or already completed (the first completion wins)
   */
  @SqlUpdate("""
      update jobs set result = :result, completed_at = :completedAt
      where job_id = :jobId and completed_at is null
      """)
  boolean markCompleted(@Bind("jobId") String jobId, @Bind("result") String result,
              @Bind("completedAt") Instant completedAt);
}
