package dev.ephemera.event;

/**
 * {@code ephemera.discarded}: a job's pending set will never become live (topic
 * {@code ephemera.lifecycle}), e.g. because the job failed or was cancelled.
 *
 * @param reason why, short and stable enough to count by (e.g. {@code job_failure})
 */
public record Discarded(String jobId, String owner, String name, String setId, String scope, String reason)
    implements EventData {

  public Discarded {
    Check.ulid(jobId, "job_id");
    Check.owner(owner, "owner");
    Check.setName(name, "name");
    Check.ulid(setId, "set_id");
    Check.scope(scope, "scope");
    Check.text(reason, "reason");
  }

  @Override
  public EventType type() {
    return EventType.DISCARDED;
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
