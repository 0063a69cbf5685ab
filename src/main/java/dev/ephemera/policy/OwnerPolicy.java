package dev.ephemera.policy;

import java.time.Duration;
import java.util.Objects;

/**
 * Per-owner (per-repository) settings. The defaults are what an owner gets until an admin says otherwise.
 *
 * @param defaultBranchMode {@code HERMETIC}: default-branch pushes neither read nor write; {@code SEED}: they write
 *     {@code branch:<default>} (never read), so other branches and pull requests start warm
 * @param quotaBytes stored bytes allowed for the owner before least-recently-used eviction
 * @param idleLimit a set unused for this long is evicted
 * @param whenDefault whether declared sets without {@code when} are kept only on success or always
 */
public record OwnerPolicy(DefaultBranchMode defaultBranchMode, long quotaBytes, Duration idleLimit, When whenDefault) {
  public static final long DEFAULT_QUOTA_BYTES = 10L * 1024 * 1024 * 1024;
  public static final Duration DEFAULT_IDLE_LIMIT = Duration.ofDays(7);
  public static final OwnerPolicy DEFAULTS =
      new OwnerPolicy(DefaultBranchMode.HERMETIC, DEFAULT_QUOTA_BYTES, DEFAULT_IDLE_LIMIT, When.SUCCESS);

  /** What a push to the default branch may do. */
  public enum DefaultBranchMode {
    HERMETIC,
    SEED
  }

  /** When a job's pending set becomes live. */
  public enum When {
    SUCCESS,
    ALWAYS
  }

  public OwnerPolicy {
    Objects.requireNonNull(defaultBranchMode, "defaultBranchMode");
    Objects.requireNonNull(idleLimit, "idleLimit");
    Objects.requireNonNull(whenDefault, "whenDefault");
    if (quotaBytes <= 0) {
      throw new IllegalArgumentException("quota must be positive, got " + quotaBytes);
    }
    if (idleLimit.isNegative() || idleLimit.isZero()) {
      throw new IllegalArgumentException("idle limit must be positive, got " + idleLimit);
    }
  }
}
