package dev.ephemera.catalog;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A buildomat job as the catalog keeps it ({@code jobs} table): what {@code job.started} said plus the policy's
 * resolved scopes, and the result once {@code job.completed} arrived.
 *
 * @param declaredJson the job file's declared {@code [[persist]]} sets as a JSON array, stored as jsonb
 * @param writeScope   the scope this job may write, or null when it may write nothing
 * @param readScopes   the scopes it may read, in fallback order (index = fallback level)
 * @param completedAt  null until the job completed
 * @param result       {@code success | failure | cancelled}, null until the job completed
 */
public record JobRow(
    String jobId,
    String owner,
    String repoOwner,
    String repoName,
    long repoId,
    String headSha,
    String headBranch,
    String trigger,
    Integer pullRequest,
    boolean fork,
    String defaultBranch,
    String target,
    String jobName,
    String declaredJson,
    String writeScope,
    List<String> readScopes,
    Instant startedAt,
    Instant completedAt,
    String result) {

  static final Set<String> TRIGGERS = Set.of("push", "pull_request");
  static final Set<String> RESULTS = Set.of("success", "failure", "cancelled");

  public JobRow {
    Objects.requireNonNull(jobId, "jobId");
    Objects.requireNonNull(owner, "owner");
    Objects.requireNonNull(repoOwner, "repoOwner");
    Objects.requireNonNull(repoName, "repoName");
    Objects.requireNonNull(headSha, "headSha");
    Objects.requireNonNull(defaultBranch, "defaultBranch");
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(jobName, "jobName");
    Objects.requireNonNull(startedAt, "startedAt");
    if (!TRIGGERS.contains(trigger)) {
      throw new IllegalArgumentException("trigger must be push or pull_request, got " + trigger);
    }
    if (result != null && !RESULTS.contains(result)) {
      throw new IllegalArgumentException("result must be success, failure or cancelled, got " + result);
    }
    if ((completedAt == null) != (result == null)) {
      throw new IllegalArgumentException("completedAt and result are set together");
    }
    declaredJson = declaredJson == null ? "[]" : declaredJson;
    readScopes = readScopes == null ? List.of() : List.copyOf(readScopes);
  }

  /** Whether {@code job.completed} has been applied. */
  public boolean completed() {
    return completedAt != null;
  }
}
