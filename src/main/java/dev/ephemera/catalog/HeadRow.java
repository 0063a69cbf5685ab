package dev.ephemera.catalog;

import java.time.Instant;
import java.util.Objects;

/**
 * The pointer from (owner, name, scope) to its newest live set ({@code heads} table).
 *
 * @param setCompletedAt the completion time of the creating job of {@code setId}: heads move forward only
 */
public record HeadRow(String owner, String name, String scope, String setId, Instant setCompletedAt,
            Instant movedAt) {
  public HeadRow {
    Objects.requireNonNull(owner, "owner");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(scope, "scope");
    Objects.requireNonNull(setId, "setId");
    Objects.requireNonNull(setCompletedAt, "setCompletedAt");
    Objects.requireNonNull(movedAt, "movedAt");
  }
}
