package dev.ephemera.event;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * An event about an owner's sets rather than one job ({@code ephemera.invalidate}, {@code .invalidated},
 * {@code .evicted}): the owner is both its CloudEvents {@code subject} and its Kafka key, so it stays in order with the
 * owner's job events.
 */
public sealed interface OwnerEvent extends EventData permits Invalidate, Invalidated, Evicted {
  String owner();

  @Override
  @JsonIgnore
  default String subject() {
    return owner();
  }

  @Override
  @JsonIgnore
  default String key() {
    return owner();
  }
}
