package dev.ephemera.rules;

/**
 * An output rule that buildomat would reject, or whose glob cannot be compiled.
 *
 * <p>Messages for the sigil grammar are buildomat's own ({@code wanted sigil/absolute path, not
 * 'x'}, {@code output rule pattern must be absolute path}, ...), so a rule rejected here is a rule
 * buildomat rejects too.
 */
public class RuleSyntaxException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public RuleSyntaxException(String message) {
    super(message);
  }
}
