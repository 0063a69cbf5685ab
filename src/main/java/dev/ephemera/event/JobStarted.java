package dev.ephemera.event;

import java.util.List;

/**
 * {@code job.started}: buildomat started a job (topic {@code buildomat.jobs}). The worker stages the
 * sets the job may read and records what it declared. Fields are those of {@link JobInfo}.
 */
public record JobStarted(
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
    List<DeclaredSet> declared)
    implements JobEvent {

  public JobStarted {
    // JobInfo holds the rules; constructing it validates and normalises (declared: copied, never null)
    declared = new JobInfo(jobId, owner, repo, headSha, headBranch, trigger, pullRequest, fork,
        defaultBranch, target, jobName, declared).declared();
  }

  /** The event for a job described by {@code job}. */
  public static JobStarted of(JobInfo job) {
    return new JobStarted(job.jobId(), job.owner(), job.repo(), job.headSha(), job.headBranch(),
        job.trigger(), job.pullRequest(), job.fork(), job.defaultBranch(), job.target(), job.jobName(),
        job.declared());
  }

  @Override
  public JobInfo job() {
    return new JobInfo(jobId, owner, repo, headSha, headBranch, trigger, pullRequest, fork,
        defaultBranch, target, jobName, declared);
  }

  @Override
  public EventType type() {
    return EventType.JOB_STARTED;
  }
}
