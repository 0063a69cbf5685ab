package dev.ephemera.event;

/**
 * {@code ephemera.gc}: an admin asks for garbage collection (topic {@code ephemera.control}): evict what
 * exceeds quota or idle limits and delete chunks no set references after the grace period.
 *
 * @param owner nullable: {@code null} means every owner
 * @param graceSeconds nullable: {@code null} means the configured grace period
 */
public record Gc(String owner, Long graceSeconds, String requestedBy) implements EventData {

  /** Subject and key of a GC for every owner. */
  public static final String ALL_OWNERS = "*";

  public Gc {
    if (owner != null) {
      Check.owner(owner, "owner");
    }
    if (graceSeconds != null) {
      Check.nonNegative(graceSeconds, "grace_seconds");
    }
    Check.text(requestedBy, "requested_by");
  }

  @Override
  public EventType type() {
    return EventType.GC;
  }

  @Override
  public String subject() {
    return owner == null ? ALL_OWNERS : owner;
  }

  @Override
  public String key() {
    return subject();
  }
}
