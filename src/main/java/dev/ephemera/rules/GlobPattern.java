package dev.ephemera.rules;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * A compiled glob with the semantics of Rust's {@code glob} 0.3 {@code Pattern} under the default
 * {@code MatchOptions} (case-sensitive, {@code require_literal_separator = false}, {@code
 * require_literal_leading_dot = false}), which is what buildomat's agent uses.
 *
 * <p>Syntax, as the crate defines it:
 *
 * <ul>
 *   <li>{@code ?} one character; {@code *} any sequence of characters;
 *   <li>{@code **} only as a whole path component ({@code a/**}{@code /b}, {@code **}{@code /b},
 *       {@code a/**}); it matches the empty string, or any sequence ending in {@code /}, or the
 *       whole rest of the string. {@code a**}, {@code **b} and three or more stars are errors;
 *   <li>{@code [abc]}, {@code [a-z0-9]} a character set, {@code [!...]} its complement; a {@code ]}
 *       right after {@code [} or {@code [!} is a member, {@code -} first or last is literal, a
 *       reversed range such as {@code [2-1]} matches nothing; an unclosed bracket is an error;
 *   <li>there is no backslash escape; {@code [*]} matches a literal star (see {@link #escape}).
 * </ul>
 *
 * <p>{@link #matches(String)} matches a whole string in which {@code /} is an ordinary character:
 * {@code *}, {@code ?} and {@code [...]} may match it. That is how buildomat applies exclude
 * ({@code !}) rules ({@code Pattern::matches_path}), so {@code /tmp/*.jpg} matches {@code
 * /tmp/a/b.jpg}. Include rules are instead expanded one path component at a time (see {@link
 * PathGlob}), where a component pattern never sees a {@code /}.
 *
 * <p>Matching runs a small NFA over the tokens (linear in the text for a fixed pattern), so a
 * hostile pattern cannot make it backtrack exponentially. Instances are immutable and thread-safe.
 */
public final class GlobPattern {
  private static final String ERROR_WILDCARDS = "wildcards are either regular `*` or recursive `**`";
  private static final String ERROR_RECURSIVE_WILDCARDS =
      "recursive wildcards must form a single path component";
  private static final String ERROR_INVALID_RANGE = "invalid range pattern";

  private final String source;
  private final Token[] tokens;
  private final boolean hasMetachars;

  /** Patterns with fewer tokens than this run on bit masks, the rest on boolean arrays. */
  private static final int MASK_LIMIT = 62;

  // For the bit-mask matcher: bit k stands for "ready to match token k".
  private final long sequenceMask; // tokens that are `*`
  private final long recursiveMask; // tokens that are `**`
  private final long singleMask; // tokens that consume exactly one character
  private final long[] asciiMatches; // per ASCII character: the single tokens it satisfies

  private GlobPattern(String source, Token[] tokens, boolean hasMetachars) {
    this.source = source;
    this.tokens = tokens;
    this.hasMetachars = hasMetachars;
    long sequences = 0;
    long recursives = 0;
    long singles = 0;
    long[] ascii = null;
    if (tokens.length <= MASK_LIMIT) {
      ascii = new long[128];
      for (int k = 0; k < tokens.length; k++) {
        Token t = tokens[k];
        if (t == AnySequence.INSTANCE) {
          sequences |= 1L << k;
        } else if (t == AnyRecursive.INSTANCE) {
          recursives |= 1L << k;
        } else {
          singles |= 1L << k;
          for (int c = 0; c < 128; c++) {
            if (t.matchesOne(c)) {
              ascii[c] |= 1L << k;
            }
          }
        }
      }
    }
    this.sequenceMask = sequences;
    this.recursiveMask = recursives;
    this.singleMask = singles;
    this.asciiMatches = ascii;
  }

  /**
   * Compiles a pattern.
   *
   * @throws GlobSyntaxException where {@code glob::Pattern::new} would return an error, with the
   *     same position and reason
   */
  public static GlobPattern compile(String pattern) {
    int[] p = pattern.codePoints().toArray();
    List<Token> tokens = new ArrayList<>();
    boolean metachars = false;
    int i = 0;
    while (i < p.length) {
      int c = p[i];
      if (c == '?') {
        metachars = true;
        tokens.add(AnyChar.INSTANCE);
        i++;
      } else if (c == '*') {
        metachars = true;
        int start = i;
        while (i < p.length && p[i] == '*') {
          i++;
        }
        int run = i - start;
        if (run > 2) {
          throw new GlobSyntaxException(start + 2, ERROR_WILDCARDS);
        } else if (run == 1) {
          tokens.add(AnySequence.INSTANCE);
        } else {
          // `**` must be a whole component: at the start or after '/', and followed by '/' (which
          // it swallows, so "a/**/b" means "a/" + recursive + "b") or by the end of the pattern.
          if (start != 0 && p[start - 1] != '/') {
            throw new GlobSyntaxException(start - 1, ERROR_RECURSIVE_WILDCARDS);
          }
          if (i < p.length && p[i] == '/') {
            i++;
          } else if (i != p.length) {
            throw new GlobSyntaxException(i, ERROR_RECURSIVE_WILDCARDS);
          }
          // "**/**" means the same as "**"; keep one token.
          if (tokens.isEmpty() || tokens.get(tokens.size() - 1) != AnyRecursive.INSTANCE) {
            tokens.add(AnyRecursive.INSTANCE);
          }
        }
      } else if (c == '[') {
        metachars = true;
        if (i + 4 <= p.length && p[i + 1] == '!') {
          // the member list starts after "[!" and a ']' directly after "[!" is a member
          int close = indexOf(p, ']', i + 3);
          if (close >= 0) {
            tokens.add(new CharSet(specifiers(p, i + 2, close), true));
            i = close + 1;
            continue;
          }
        } else if (i + 3 <= p.length && p[i + 1] != '!') {
          int close = indexOf(p, ']', i + 2);
          if (close >= 0) {
            tokens.add(new CharSet(specifiers(p, i + 1, close), false));
            i = close + 1;
            continue;
          }
        }
        throw new GlobSyntaxException(i, ERROR_INVALID_RANGE);
      } else {
        tokens.add(new Literal(c));
        i++;
      }
    }
    return new GlobPattern(pattern, tokens.toArray(new Token[0]), metachars);
  }

  /**
   * Escapes {@code ? * [ ]} by wrapping each in brackets, so the result, compiled, matches exactly
   * {@code literal} (as {@code glob::Pattern::escape} does).
   */
  public static String escape(String literal) {
    StringBuilder out = new StringBuilder(literal.length() + 8);
    literal
        .codePoints()
        .forEach(
            c -> {
              if (c == '?' || c == '*' || c == '[' || c == ']') {
                out.append('[').appendCodePoint(c).append(']');
              } else {
                out.appendCodePoint(c);
              }
            });
    return out.toString();
  }

  /** The pattern text as given. */
  public String source() {
    return source;
  }

  /** Whether the pattern has any of {@code ? * [}; a pattern without them matches only itself. */
  public boolean hasMetachars() {
    return hasMetachars;
  }

  /** Whether this pattern is exactly the recursive wildcard {@code **} (as a component). */
  public boolean isRecursiveWildcard() {
    return tokens.length == 1 && tokens[0] == AnyRecursive.INSTANCE;
  }

  /** Whether the first token is a literal {@code .} (the crate then also offers "." and ".."). */
  boolean startsWithLiteralDot() {
    return tokens.length > 0 && tokens[0] instanceof Literal l && l.codePoint == '.';
  }

  /**
   * The one string this pattern matches, if it matches exactly one: every token is a literal
   * character or a one-member set such as {@code [*]} (how {@link #escape} spells metacharacters).
   */
  public Optional<String> literalValue() {
    StringBuilder out = new StringBuilder();
    for (Token t : tokens) {
      if (t instanceof Literal l) {
        out.appendCodePoint(l.codePoint);
      } else if (t instanceof CharSet s
          && !s.negated
          && s.ranges.length == 2
          && s.ranges[0] == s.ranges[1]) {
        out.appendCodePoint(s.ranges[0]);
      } else {
        return Optional.empty();
      }
    }
    return Optional.of(out.toString());
  }

  /**
   * Whether the whole of {@code text} matches, with {@code /} treated as an ordinary character
   * (the crate's {@code matches} / {@code matches_path} with default options).
   */
  public boolean matches(String text) {
    return asciiMatches != null ? matchesWithMasks(text) : matchesWithArrays(text);
  }

  /** {@link #matches} on 64-bit state sets; the same automaton as {@link #matchesWithArrays}. */
  boolean matchesWithMasks(String text) {
    int m = tokens.length;
    long empty = sequenceMask | recursiveMask;
    long at = closeOverEmpty(1L, empty);
    long inside = 0;
    int i = 0;
    int n = text.length();
    while (i < n) {
      int c = text.codePointAt(i);
      i += Character.charCount(c);
      long singles;
      if (c < 128) {
        singles = at & asciiMatches[c];
      } else {
        singles = 0;
        for (long pending = at & singleMask; pending != 0; pending &= pending - 1) {
          int k = Long.numberOfTrailingZeros(pending);
          if (tokens[k].matchesOne(c)) {
            singles |= 1L << k;
          }
        }
      }
      long recursive = (at | inside) & recursiveMask;
      long next = (singles << 1) | (at & sequenceMask) | (c == '/' ? recursive : 0);
      inside = c == '/' ? 0 : recursive;
      if (next == 0 && inside == 0) {
        return false;
      }
      at = closeOverEmpty(next, empty);
    }
    at = closeOverEmpty(at | (inside << 1), empty);
    return (at & (1L << m)) != 0;
  }

  private static long closeOverEmpty(long at, long empty) {
    long previous;
    do {
      previous = at;
      at |= (at & empty) << 1;
    } while (at != previous);
    return at;
  }

  /** {@link #matches} for patterns too long for {@link #matchesWithMasks}. */
  boolean matchesWithArrays(String text) {
    int m = tokens.length;
    // at[k]: ready to match token k (k == m: the pattern is used up).
    // inside[k]: inside a `**` at token k that has consumed characters since its last '/': it may
    // keep consuming, but may only hand over to token k+1 after a '/' or at the end of the text.
    boolean[] at = new boolean[m + 1];
    boolean[] inside = new boolean[m];
    boolean[] nextAt = new boolean[m + 1];
    boolean[] nextInside = new boolean[m];
    at[0] = true;
    closeOverEmpty(at);
    int i = 0;
    int n = text.length();
    while (i < n) {
      int c = text.codePointAt(i);
      i += Character.charCount(c);
      Arrays.fill(nextAt, false);
      Arrays.fill(nextInside, false);
      boolean alive = false;
      for (int k = 0; k < m; k++) {
        Token t = tokens[k];
        if (at[k] || inside[k]) {
          if (t == AnySequence.INSTANCE) {
            nextAt[k] = true;
            alive = true;
          } else if (t == AnyRecursive.INSTANCE) {
            if (c == '/') {
              nextAt[k] = true;
            } else {
              nextInside[k] = true;
            }
            alive = true;
          } else if (at[k] && t.matchesOne(c)) {
            nextAt[k + 1] = true;
            alive = true;
          }
        }
      }
      if (!alive) {
        return false;
      }
      boolean[] swap = at;
      at = nextAt;
      nextAt = swap;
      swap = inside;
      inside = nextInside;
      nextInside = swap;
      closeOverEmpty(at);
    }
    for (int k = 0; k < m; k++) {
      if (inside[k]) {
        at[k + 1] = true; // a `**` may run to the end of the text
      }
    }
    closeOverEmpty(at);
    return at[m];
  }

  /** `*` and `**` may match nothing: being ready for one means being ready for the next token. */
  private void closeOverEmpty(boolean[] at) {
    for (int k = 0; k < tokens.length; k++) {
      if (at[k] && tokens[k].canBeEmpty()) {
        at[k + 1] = true;
      }
    }
  }

  private static int indexOf(int[] p, int c, int from) {
    for (int i = from; i < p.length; i++) {
      if (p[i] == c) {
        return i;
      }
    }
    return -1;
  }

  /** Members from p[from, to): "x-y" is a range wherever it fits, anything else one character. */
  private static int[] specifiers(int[] p, int from, int to) {
    List<int[]> ranges = new ArrayList<>();
    int i = from;
    while (i < to) {
      if (i + 3 <= to && p[i + 1] == '-') {
        ranges.add(new int[] {p[i], p[i + 2]});
        i += 3;
      } else {
        ranges.add(new int[] {p[i], p[i]});
        i++;
      }
    }
    int[] flat = new int[ranges.size() * 2];
    for (int r = 0; r < ranges.size(); r++) {
      flat[2 * r] = ranges.get(r)[0];
      flat[2 * r + 1] = ranges.get(r)[1];
    }
    return flat;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GlobPattern other && other.source.equals(source);
  }

  @Override
  public int hashCode() {
    return source.hashCode();
  }

  @Override
  public String toString() {
    return source;
  }

  private sealed interface Token permits Literal, AnyChar, CharSet, AnySequence, AnyRecursive {
    default boolean matchesOne(int c) {
      return false;
    }

    default boolean canBeEmpty() {
      return false;
    }
  }

  private record Literal(int codePoint) implements Token {
    @Override
    public boolean matchesOne(int c) {
      return c == codePoint;
    }
  }

  private enum AnyChar implements Token {
    INSTANCE;

    @Override
    public boolean matchesOne(int c) {
      return true;
    }
  }

  /** Members as inclusive [low, high] pairs, flattened; a reversed pair matches nothing. */
  private record CharSet(int[] ranges, boolean negated) implements Token {
    @Override
    public boolean matchesOne(int c) {
      boolean member = false;
      for (int r = 0; r < ranges.length; r += 2) {
        if (c >= ranges[r] && c <= ranges[r + 1]) {
          member = true;
          break;
        }
      }
      return member != negated;
    }
  }

  private enum AnySequence implements Token {
    INSTANCE;

    @Override
    public boolean canBeEmpty() {
      return true;
    }
  }

  private enum AnyRecursive implements Token {
    INSTANCE;

    @Override
    public boolean canBeEmpty() {
      return true;
    }
  }
}
