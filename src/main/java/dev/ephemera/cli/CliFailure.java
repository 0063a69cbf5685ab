package dev.ephemera.cli;

/**
 * Why a job-side command did not do its work, mapped to exit codes in one place ({@link Main}):
 *
 * <ul>
 *   <li>{@link Kind#MISS}: nothing to restore (exit 0; 2 with {@code --strict});
 *   <li>{@link Kind#FAILURE}: the cache could not do its work (server, network, store, a refused archive): exit 0;
 *       3 with {@code --strict}, because an optional cache must never kill a job;
 *   <li>{@link Kind#CHECK}: something the job itself asked to be checked failed (an {@code =} rule matched
 *       nothing): always exit 3.
 * </ul>
 */
public final class CliFailure extends RuntimeException {
  /** The kinds of failure, each with its exit codes. */
  public enum Kind {
    MISS(2),
    FAILURE(3),
    CHECK(3);

    final int strictExit;

    Kind(int strictExit) {
      this.strictExit = strictExit;
    }
  }

  private final Kind kind;

  public CliFailure(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public CliFailure(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
