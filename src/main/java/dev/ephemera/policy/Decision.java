package dev.ephemera.policy;

/**
 * What the worker does with a set in answer to a job event. Produced by {@link Decisions}, a pure function; the worker
 * carries decisions out in one transaction.
 */
public sealed interface Decision permits Decision.Stage, Decision.Capture, Decision.Discard, Decision.Ignore {

  /** Offer the live set {@code setId} to the job under {@code name}, found at {@code fallbackLevel} of its read chain. */
  record Stage(String name, String setId, Scope scope, int fallbackLevel) implements Decision {}

  /** Make the job's pending set live and move its head (if it is newer). */
  record Capture(String setId, String name, Scope scope) implements Decision {}

  /** Drop the job's pending set; it never becomes visible. */
  record Discard(String setId, String name, Scope scope, String reason) implements Decision {}

  /** Nothing to do for {@code name}, and why (a miss, a hermetic job). */
  record Ignore(String name, String reason) implements Decision {}
}
