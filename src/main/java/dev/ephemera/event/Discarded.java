package dev.ephemera.event;

/**
 * {@code ephemera.discarded}: a job's pending set will never become live (topic
 * {@code ephemera.lifecycle}), e.g. because the job failed or was cancelled.
 *
 * @param reason why, short and stable enough to count by (e.g. {@code job_failure})
 */
public record Discarded(String jobId, String owner, String name, String setId, String scope, String reason)
    implements JobSetEvent {

  public Discarded {
    JobSetEvent.check(jobId, owner, name, setId, scope);
    Check.text(reason, "reason");
  }

  @Override
  public EventType type() {
    return EventType.DISCARDED;
  }
}
