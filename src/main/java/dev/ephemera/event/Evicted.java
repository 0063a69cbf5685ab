package dev.ephemera.event;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * {@code ephemera.evicted}: a live set was removed to respect a limit (topic {@code ephemera.lifecycle}).
 *
 * @param archiveSize compressed bytes the set accounted for against the quota
 */
public record Evicted(String owner, String name, String setId, String scope, Reason reason, long archiveSize)
    implements OwnerEvent {

  /** Which limit evicted the set. */
  public enum Reason {
    /** The owner's stored bytes exceeded the quota; least recently used sets go first. */
    @JsonProperty("quota")
    QUOTA,
    /** The set was not used for longer than the idle limit. */
    @JsonProperty("idle")
    IDLE
  }

  public Evicted {
    Check.owner(owner, "owner");
    Check.setName(name, "name");
    Check.ulid(setId, "set_id");
    Check.scope(scope, "scope");
    Check.present(reason, "reason");
    Check.nonNegative(archiveSize, "archive_size");
  }

  @Override
  public EventType type() {
    return EventType.EVICTED;
  }
}
