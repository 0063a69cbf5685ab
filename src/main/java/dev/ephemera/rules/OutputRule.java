package dev.ephemera.rules;

/**
 * One buildomat output rule: optional sigils, then an absolute glob.
 *
 * <ul>
 *   <li>{@code !} exclude: a file whose whole path matches is never selected, whatever other rules
 *       say. It cannot be combined with another sigil.
 *   <li>{@code =} require a match: selecting nothing is an error.
 *   <li>{@code %} size change is ok: a file that changes or vanishes while it is read is a warning,
 *       not an error.
 *   <li>{@code =%} and {@code %=} are both accepted; nothing else is.
 * </ul>
 *
 * <p>{@link #parse} is buildomat's {@code parse_output_rule} state machine with its error messages.
 * Unlike buildomat's server (which only checks sigils, and leaves a bad glob to fail at upload
 * time), the glob is compiled here too, so a rule that would fail later fails now.
 *
 * @param pattern the absolute glob, without sigils
 * @param exclude {@code !}
 * @param requireMatch {@code =}
 * @param sizeChangeOk {@code %}
 */
public record OutputRule(
    String pattern, boolean exclude, boolean requireMatch, boolean sizeChangeOk) {

  public OutputRule {
    if (pattern == null || !pattern.startsWith("/")) {
      throw new RuleSyntaxException("output rule pattern must be absolute path");
    }
    if (exclude && (requireMatch || sizeChangeOk)) {
      throw new RuleSyntaxException("an exclude (!) rule cannot also be = or %");
    }
    if (exclude) {
      // buildomat matches exclude rules against whole paths and never splits them
      GlobPattern.compile(pattern);
    } else {
      PathGlob.compile(pattern);
    }
  }

  /**
   * Parses a rule as buildomat's server does.
   *
   * @throws RuleSyntaxException with buildomat's message for a sigil or absolute-path error, or a
   *     {@link GlobSyntaxException} for a glob the {@code glob} crate refuses
   */
  public static OutputRule parse(String text) {
    boolean exclude = false;
    boolean requireMatch = false;
    boolean sizeChangeOk = false;
    State state = State.START;
    int i = 0;
    while (i < text.length() && state != State.RULE) {
      int c = text.codePointAt(i);
      switch (state) {
        case START -> {
          switch (c) {
            case '/' -> state = State.RULE;
            case '!' -> {
              exclude = true;
              state = State.SLASH;
            }
            case '=' -> {
              requireMatch = true;
              state = State.SLASH_OR_PERCENT;
            }
            case '%' -> {
              sizeChangeOk = true;
              state = State.SLASH_OR_EQUALS;
            }
            default -> throw new RuleSyntaxException(
                "wanted sigil/absolute path, not " + debugChar(c));
          }
        }
        case SLASH_OR_EQUALS -> {
          if (c == '/') {
            state = State.RULE;
          } else if (c == '=') {
            requireMatch = true;
            state = State.SLASH;
          } else {
            throw new RuleSyntaxException(debugChar(c) + " unexpected in output rule");
          }
        }
        case SLASH_OR_PERCENT -> {
          if (c == '/') {
            state = State.RULE;
          } else if (c == '%') {
            sizeChangeOk = true;
            state = State.SLASH;
          } else {
            throw new RuleSyntaxException(debugChar(c) + " unexpected in output rule");
          }
        }
        case SLASH -> {
          if (c == '/') {
            state = State.RULE;
          } else {
            throw new RuleSyntaxException(
                "wanted '/', not " + debugChar(c) + ", in output rule");
          }
        }
        case RULE -> throw new AssertionError("loop ends on RULE");
      }
      if (state != State.RULE) {
        i += Character.charCount(c);
      }
    }
    if (state != State.RULE) {
      // empty input, or sigils with nothing after them
      throw new RuleSyntaxException("output rule pattern must be absolute path");
    }
    return new OutputRule(text.substring(i), exclude, requireMatch, sizeChangeOk);
  }

  /** An include rule with no sigils. */
  public static OutputRule include(String pattern) {
    return new OutputRule(pattern, false, false, false);
  }

  /** An exclude ({@code !}) rule. */
  public static OutputRule excluding(String pattern) {
    return new OutputRule(pattern, true, false, false);
  }

  /** The compiled whole-path pattern (how buildomat applies {@code !}, {@code =} and {@code %}). */
  public GlobPattern glob() {
    return GlobPattern.compile(pattern);
  }

  /**
   * The rule as text, sigils in the order buildomat's API prints them ({@code ! % =}); {@link
   * #parse} of the result gives back an equal rule.
   */
  @Override
  public String toString() {
    return (exclude ? "!" : "") + (sizeChangeOk ? "%" : "") + (requireMatch ? "=" : "") + pattern;
  }

  private enum State {
    START,
    SLASH_OR_EQUALS,
    SLASH_OR_PERCENT,
    SLASH,
    RULE
  }

  /** A character as Rust's {@code {:?}} prints a {@code char}: quoted, with escapes. */
  static String debugChar(int c) {
    String body =
        switch (c) {
          case '\t' -> "\\t";
          case '\r' -> "\\r";
          case '\n' -> "\\n";
          case '\\' -> "\\\\";
          case '\'' -> "\\'";
          case 0 -> "\\0";
          default -> Character.isISOControl(c) || !Character.isDefined(c)
              ? "\\u{" + Integer.toHexString(c) + "}"
              : new String(Character.toChars(c));
        };
    return "'" + body + "'";
  }
}
