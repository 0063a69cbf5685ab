package dev.ephemera.catalog;

import java.time.Instant;

/**
 * Narrows {@link SetDao#list}; every null field matches anything.
 *
 * @param createdFrom inclusive lower bound on {@code created_at}
 * @param createdTo   exclusive upper bound on {@code created_at}
 * @param limit       at most this many rows, newest first
 */
public record SetFilter(String name, String scope, SetStatus status, String createdByJob, Instant createdFrom,
            Instant createdTo, int limit) {

  public SetFilter {
    if (limit <= 0) {
      throw new IllegalArgumentException("limit must be positive");
    }
  }

  /** Everything, up to {@code limit} rows. */
  public static SetFilter all(int limit) {
    return new SetFilter(null, null, null, null, null, null, limit);
  }

  public SetFilter withName(String value) {
    return new SetFilter(value, scope, status, createdByJob, createdFrom, createdTo, limit);
  }

  public SetFilter withScope(String value) {
    return new SetFilter(name, value, status, createdByJob, createdFrom, createdTo, limit);
  }

  public SetFilter withStatus(SetStatus value) {
    return new SetFilter(name, scope, value, createdByJob, createdFrom, createdTo, limit);
  }

  public SetFilter withCreatedByJob(String value) {
    return new SetFilter(name, scope, status, value, createdFrom, createdTo, limit);
  }

  public SetFilter withCreatedBetween(Instant from, Instant to) {
    return new SetFilter(name, scope, status, createdByJob, from, to, limit);
  }
}
