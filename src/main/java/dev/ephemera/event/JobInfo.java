package dev.ephemera.event;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Optional;

/**
 * What buildomat knows about a job when it starts: the fields {@code job.started} carries and
 * {@code job.completed} repeats, so a consumer of either needs no other lookup.
 *
 * <p>Follows buildomat's GitHub model: {@code owner} is {@code gong-<repo id>}; {@code headBranch} is
 * absent for pull requests from forks (and for pushes of tags); there may be no pull request number
 * even for a pull request.
 *
 * @param headBranch nullable: never present for a fork pull request
 * @param pullRequest nullable: only for {@link Trigger#PULL_REQUEST}, and even then optional
 * @param target the buildomat target the job asked for
 * @param jobName the job file's {@code name} (the check run name)
 * @param declared the job file's {@code [[persist]]} sets, possibly none; names are unique
 */
public record JobInfo(
    String jobId,
    String owner,
    Repo repo,
    String headSha,
    String headBranch,
    Trigger trigger,
    Integer pullRequest,
    boolean fork,
    String defaultBranch,
    String target,
    String jobName,
    List<DeclaredSet> declared) {

  /** What made GitHub ask buildomat for the job. */
  public enum Trigger {
    @JsonProperty("push")
    PUSH,
    @JsonProperty("pull_request")
    PULL_REQUEST
  }

  public JobInfo {
    Check.ulid(jobId, "job_id");
    Check.owner(owner, "owner");
    Check.present(repo, "repo");
    Check.matches(headSha, Check.GIT_SHA, "head_sha", "a git commit sha (40 or 64 lower-case hex digits)");
    if (headBranch != null) {
      Check.matches(headBranch, Check.NO_SPACE, "head_branch", "a branch name");
    }
    Check.present(trigger, "trigger");
    if (pullRequest != null && pullRequest < 1) {
      throw new IllegalArgumentException("pull_request: must be >= 1, was " + pullRequest);
    }
    if (fork && trigger != Trigger.PULL_REQUEST) {
      throw new IllegalArgumentException("fork: only a pull request can come from a fork");
    }
    if (fork && headBranch != null) {
      throw new IllegalArgumentException("head_branch: must be absent for a fork pull request");
    }
    if (trigger == Trigger.PUSH && pullRequest != null) {
      throw new IllegalArgumentException("pull_request: must be absent for a push");
    }
    Check.matches(defaultBranch, Check.NO_SPACE, "default_branch", "a branch name");
    Check.text(target, "target");
    Check.text(jobName, "job_name");
    declared = DeclaredSet.uniqueNames(declared == null ? List.of() : declared, "declared");
  }

  /** The head branch, absent for fork pull requests. */
  public Optional<String> optionalHeadBranch() {
    return Optional.ofNullable(headBranch);
  }

  /** The pull request number, when the event carries one. */
  public Optional<Integer> optionalPullRequest() {
    return Optional.ofNullable(pullRequest);
  }
}
