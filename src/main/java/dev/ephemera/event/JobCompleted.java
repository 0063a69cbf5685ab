package dev.ephemera.event;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.List;

/**
 * {@code job.completed}: a job finished (topic {@code buildomat.jobs}). Repeats every {@link JobInfo}
 * field of {@code job.started}, so a worker that missed the start (or replays only completions) can
 * still decide, and adds the result and the completion time. Pending sets become live on
 * {@link Result#SUCCESS} (or always, for {@code when = "always"} sets) and are discarded otherwise.
 */
public record JobCompleted(
    String jobId,
    String owner,
    Repo repo,
    String headSha,
    String headBranch,
    JobInfo.Trigger trigger,
    Integer pullRequest,
    boolean fork,
    String defaultBranch,
    String target,
    String jobName,
    List<DeclaredSet> declared,
    Result result,
    Instant completedAt)
    implements JobEvent {

  /** How the job ended; buildomat reports a cancelled job as failed with the cancelled flag set. */
  public enum Result {
    @JsonProperty("success")
    SUCCESS,
    @JsonProperty("failure")
    FAILURE,
    @JsonProperty("cancelled")
    CANCELLED
  }

  public JobCompleted {
    declared = new JobInfo(jobId, owner, repo, headSha, headBranch, trigger, pullRequest, fork,
        defaultBranch, target, jobName, declared).declared();
    Check.present(result, "result");
    Check.present(completedAt, "completed_at");
  }

  /** The event for a job described by {@code job} that ended with {@code result}. */
  public static JobCompleted of(JobInfo job, Result result, Instant completedAt) {
    return new JobCompleted(job.jobId(), job.owner(), job.repo(), job.headSha(), job.headBranch(),
        job.trigger(), job.pullRequest(), job.fork(), job.defaultBranch(), job.target(), job.jobName(),
        job.declared(), result, completedAt);
  }

  @Override
  public JobInfo job() {
    return new JobInfo(jobId, owner, repo, headSha, headBranch, trigger, pullRequest, fork,
        defaultBranch, target, jobName, declared);
  }

  @Override
  public EventType type() {
    return EventType.JOB_COMPLETED;
  }
}
