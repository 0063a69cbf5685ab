package dev.ephemera.jobfile;

/**
 * A job file that buildomat (with Ephemera's {@code persist} key added) would reject.
 *
 * <p>Messages follow buildomat's: {@code "NAME" must have an interpreter line}, and {@code TOML
 * front matter in "NAME": ...} with serde's wording for the rest ({@code missing field `name`},
 * {@code unknown field `x`, expected one of ...}, {@code invalid type: ..., expected ...}).
 */
public final class JobFileException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public JobFileException(String message) {
    super(message);
  }
}
