package dev.ephemera.policy;

import java.util.Objects;

/**
 * What the policy needs to know about a job: who owns it and how it was triggered. Built from {@code job.started}.
 *
 * @param headBranch absent (null) for pull requests from forks, as buildomat reports them
 * @param pullRequest the pull request number when the trigger is a pull request and the event carries it, else null
 */
public record JobContext(
    String owner, Trigger trigger, String headBranch, String defaultBranch, Integer pullRequest, boolean fork) {

  /** How buildomat started the job. */
  public enum Trigger {
    PUSH,
    PULL_REQUEST
  }

  public JobContext {
    Objects.requireNonNull(owner, "owner");
    Objects.requireNonNull(trigger, "trigger");
    Objects.requireNonNull(defaultBranch, "defaultBranch");
    if (headBranch != null && headBranch.isBlank()) {
      headBranch = null;
    }
    if (pullRequest != null && pullRequest <= 0) {
      throw new IllegalArgumentException("pull request number must be positive, got " + pullRequest);
    }
    if (trigger == Trigger.PUSH && fork) {
      throw new IllegalArgumentException("a push cannot come from a fork");
    }
  }

  /** True for a push to the repository's default branch: the job that must stay hermetic. */
  public boolean isDefaultBranchPush() {
    return trigger == Trigger.PUSH && defaultBranch.equals(headBranch);
  }
}
