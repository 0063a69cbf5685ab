package dev.ephemera.catalog;

import java.time.Instant;
import java.util.Objects;
import java.util.Set;

/**
 * One owner's policy ({@code owner_policies} table); owners without a row get {@link #defaults(String)}.
 *
 * @param defaultBranchMode {@code hermetic} (default-branch pushes read and write nothing) or {@code seed}
 *                          (they write {@code branch:<default>})
 * @param quotaBytes        stored bytes allowed before least-recently-used eviction
 * @param idleDays          a set unused this long is evicted
 * @param whenDefault       {@code success} or {@code always}, for sets declared without {@code when}
 * @param updatedAt         when the row was last written; null for defaults
 */
public record OwnerPolicyRow(String owner, String defaultBranchMode, long quotaBytes, int idleDays, String whenDefault,
              Instant updatedAt) {

  /** 10 GiB. */
  public static final long DEFAULT_QUOTA_BYTES = 10L * 1024 * 1024 * 1024;
  public static final int DEFAULT_IDLE_DAYS = 7;

  public OwnerPolicyRow {
    Objects.requireNonNull(owner, "owner");
    if (!Set.of("hermetic", "seed").contains(defaultBranchMode)) {
      throw new IllegalArgumentException("defaultBranchMode must be hermetic or seed, got " + defaultBranchMode);
    }
    if (!SetRow.WHENS.contains(whenDefault)) {
      throw new IllegalArgumentException("whenDefault must be success or always, got " + whenDefault);
    }
    if (quotaBytes <= 0) {
      throw new IllegalArgumentException("quotaBytes must be positive");
    }
    if (idleDays <= 0) {
      throw new IllegalArgumentException("idleDays must be positive");
    }
  }

  /** The policy of an owner nobody configured. */
  public static OwnerPolicyRow defaults(String owner) {
    return new OwnerPolicyRow(owner, "hermetic", DEFAULT_QUOTA_BYTES, DEFAULT_IDLE_DAYS, "success", null);
  }
}
