package dev.ephemera.catalog;

import java.time.Instant;
import java.util.Optional;

/**
 * What the outbox still has to publish.
 *
 * @param count  unpublished rows
 * @param oldest creation time of the oldest unpublished row, empty when none
 */
public record OutboxBacklog(long count, Optional<Instant> oldest) {
  public OutboxBacklog {
    if (count < 0) {
      throw new IllegalArgumentException("count must not be negative");
    }
    oldest = oldest == null ? Optional.empty() : oldest;
  }
}
