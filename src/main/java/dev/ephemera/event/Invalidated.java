package dev.ephemera.event;

/**
 * {@code ephemera.invalidated}: a set was marked invalid (topic {@code ephemera.lifecycle}).
 *
 * @param invalidationId id of the {@code ephemera.invalidate} event (or replay) that caused it
 * @param headNow nullable: the set the head of (owner, name, scope) points to now; absent when the
 *     head did not point at this set, or moved back to nothing
 */
public record Invalidated(
    String owner,
    String name,
    String setId,
    String scope,
    String reason,
    String invalidationId,
    String headNow)
    implements OwnerEvent {

  public Invalidated {
    Check.owner(owner, "owner");
    Check.setName(name, "name");
    Check.ulid(setId, "set_id");
    Check.scope(scope, "scope");
    Check.text(reason, "reason");
    Check.ulid(invalidationId, "invalidation_id");
    Check.optionalUlid(headNow, "head_now");
  }

  @Override
  public EventType type() {
    return EventType.INVALIDATED;
  }
}
