package dev.ephemera.event;

/**
 * {@code ephemera.staged}: a set was chosen for a job to restore (topic {@code ephemera.lifecycle}).
 *
 * @param fallbackLevel position of {@code scope} in the job's read chain (0 = the job's own scope)
 */
public record Staged(String jobId, String owner, String name, String setId, String scope, int fallbackLevel)
    implements JobSetEvent {

  public Staged {
    JobSetEvent.check(jobId, owner, name, setId, scope);
    Check.nonNegative(fallbackLevel, "fallback_level");
  }

  @Override
  public EventType type() {
    return EventType.STAGED;
  }
}
