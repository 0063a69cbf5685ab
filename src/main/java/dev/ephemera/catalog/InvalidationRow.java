package dev.ephemera.catalog;

import java.time.Instant;
import java.util.Objects;

/**
 * An applied invalidation ({@code invalidations} table).
 *
 * @param id           the invalidation's id (the {@code ephemera.invalidate} event id)
 * @param selectorJson what was selected (repo, name, scope, creating job, time range) as a JSON object
 * @param setsAffected how many sets it invalidated
 */
public record InvalidationRow(String id, String owner, String selectorJson, String reason, String requestedBy,
                Instant appliedAt, int setsAffected) {
  public InvalidationRow {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(owner, "owner");
    Objects.requireNonNull(selectorJson, "selectorJson");
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(requestedBy, "requestedBy");
    Objects.requireNonNull(appliedAt, "appliedAt");
    if (setsAffected < 0) {
      throw new IllegalArgumentException("setsAffected must not be negative");
    }
  }
}
