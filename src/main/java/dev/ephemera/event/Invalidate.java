package dev.ephemera.event;

import java.time.Instant;

/**
 * {@code ephemera.invalidate}: an admin asks to invalidate an owner's sets (topic
 * {@code ephemera.control}). Matching sets are marked invalid and heads move back to the previous valid
 * set; each one yields an {@link Invalidated} event whose {@code invalidation_id} is this event's id.
 *
 * @param requestedBy who asked (a person or tool), for the audit trail
 */
public record Invalidate(String owner, Selector selector, String reason, String requestedBy)
    implements OwnerEvent {

  /**
   * Which of the owner's sets to invalidate; every criterion is optional and they combine with AND,
   * so an empty selector matches every set of the owner.
   *
   * @param createdAfter inclusive lower bound of the set's creation time
   * @param createdBefore exclusive upper bound of the set's creation time
   * @param createdByJobs nullable: sets captured by any of these jobs (what {@code ephemera admin replay} sends; added
   *     compatibly in v1, at most {@link #MAX_JOBS} ids); null matches any job, an empty list matches nothing
   */
  public record Selector(
      String name,
      String scope,
      String setId,
      String createdByJob,
      Instant createdAfter,
      Instant createdBefore,
      java.util.List<String> createdByJobs) {

    /** The most job ids one selector may carry (keeps one event well under Kafka's default message size). */
    public static final int MAX_JOBS = 1000;

    /** A selector without a job list (the fields of the first v1 schema). */
    public Selector(
        String name, String scope, String setId, String createdByJob, Instant createdAfter, Instant createdBefore) {
      this(name, scope, setId, createdByJob, createdAfter, createdBefore, null);
    }

    public Selector {
      if (createdByJobs != null) {
        if (createdByJobs.size() > MAX_JOBS) {
          throw new IllegalArgumentException("created_by_jobs: at most " + MAX_JOBS + " job ids, got "
              + createdByJobs.size());
        }
        for (String job : createdByJobs) {
          Check.ulid(job, "created_by_jobs");
        }
        createdByJobs = java.util.List.copyOf(createdByJobs);
      }
      if (name != null) {
        Check.setName(name, "name");
      }
      if (scope != null) {
        Check.scope(scope, "scope");
      }
      Check.optionalUlid(setId, "set_id");
      Check.optionalUlid(createdByJob, "created_by_job");
      if (createdAfter != null && createdBefore != null && !createdAfter.isBefore(createdBefore)) {
        throw new IllegalArgumentException(
            "created_before: must be after created_after (" + createdAfter + ")");
      }
    }

    /** A selector matching every set of the owner. */
    public static Selector all() {
      return new Selector(null, null, null, null, null, null, null);
    }

    /** True when no criterion is set, so every set of the owner matches. */
    public boolean matchesEverything() {
      return name == null && scope == null && setId == null && createdByJob == null
          && createdAfter == null && createdBefore == null && createdByJobs == null;
    }
  }

  public Invalidate {
    Check.owner(owner, "owner");
    Check.present(selector, "selector");
    Check.text(reason, "reason");
    Check.text(requestedBy, "requested_by");
  }

  @Override
  public EventType type() {
    return EventType.INVALIDATE;
  }
}
