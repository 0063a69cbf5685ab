package dev.ephemera.event;

/**
 * Kafka topic names of DESIGN.md §4. Inputs are keyed by owner; {@link #USED} by job id; {@link #DLQ}
 * keeps the original key. {@link EventType#topic()} says which topic each event travels on.
 */
public final class Topics {

  /** In: {@code job.started} and {@code job.completed} from buildomat, keyed by owner. */
  public static final String BUILDOMAT_JOBS = "buildomat.jobs";
  /** In: {@code ephemera.invalidate} and {@code ephemera.gc} from the admin CLI, keyed by owner. */
  public static final String CONTROL = "ephemera.control";
  /** Out: {@code ephemera.used}, one per job, keyed by job id, for the job reporter. */
  public static final String USED = "ephemera.used";
  /** Out: set lifecycle events (staged, captured, discarded, invalidated, evicted), keyed by owner. */
  public static final String LIFECYCLE = "ephemera.lifecycle";
  /** Out: messages that could not be parsed or violate their schema, as {@link DeadLetter} records. */
  public static final String DLQ = "ephemera.dlq";

  private Topics() {}
}
