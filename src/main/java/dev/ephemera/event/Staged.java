package dev.ephemera.event;

/**
 * {@code ephemera.staged}: a set was chosen for a job to restore (topic {@code ephemera.lifecycle}).
 *
 * @param fallbackLevel position of {@code scope} in the job's read chain (0 = the job's own scope)
 */
public record Staged(String jobId, String owner, String name, String setId, String scope, int fallbackLevel)
    implements EventData {

  public Staged {
    Check.ulid(jobId, "job_id");
    Check.owner(owner, "owner");
    Check.setName(name, "name");
    Check.ulid(setId, "set_id");
    Check.scope(scope, "scope");
    Check.nonNegative(fallbackLevel, "fallback_level");
  }

  @Override
  public EventType type() {
    return EventType.STAGED;
  }

  @Override
  public String subject() {
    return jobId;
  }

  @Override
  public String key() {
    return owner;
  }
}
