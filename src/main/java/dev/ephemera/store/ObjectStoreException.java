package dev.ephemera.store;

/**
 * The one exception type an {@link ObjectStore} throws for a failed store operation.
 *
 * <p>{@link #isTransient()} tells a retry wrapper whether trying again may succeed (a timeout, a
 * connection reset, a 5xx or throttling answer) or not (access denied, a missing bucket, a
 * malformed request). Invalid keys are a programming error and are reported with {@link
 * IllegalArgumentException} instead.
 */
public class ObjectStoreException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final boolean transientFailure;

  public ObjectStoreException(String message, boolean transientFailure, Throwable cause) {
    super(message, cause);
    this.transientFailure = transientFailure;
  }

  public ObjectStoreException(String message, boolean transientFailure) {
    this(message, transientFailure, null);
  }

  /** Whether the same call may succeed if tried again later. */
  public boolean isTransient() {
    return transientFailure;
  }

  /**
   * A retryable predicate for {@link Retry}: true for a transient {@code ObjectStoreException},
   * false for anything else (including a permanent store error, which retrying cannot fix).
   */
  public static boolean isTransient(Throwable failure) {
    return failure instanceof ObjectStoreException e && e.isTransient();
  }
}
