package dev.ephemera.rules;

/**
 * A glob pattern that the Rust {@code glob} 0.3 crate would also refuse to compile.
 *
 * <p>The message has the crate's shape ({@code Pattern syntax error near position N: reason}) so
 * that what a job author reads matches what buildomat's agent would have reported for the same
 * rule.
 */
public final class GlobSyntaxException extends RuleSyntaxException {
  private static final long serialVersionUID = 1L;

  private final int position;
  private final String reason;

  GlobSyntaxException(int position, String reason) {
    super("Pattern syntax error near position " + position + ": " + reason);
    this.position = position;
    this.reason = reason;
  }

  /** The approximate character index (of the pattern without sigils) where the error was found. */
  public int position() {
    return position;
  }

  /** The crate's reason text, e.g. {@code invalid range pattern}. */
  public String reason() {
    return reason;
  }
}
