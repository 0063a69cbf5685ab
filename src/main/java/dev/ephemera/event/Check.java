package dev.ephemera.event;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Field checks shared by the event records' compact constructors. The patterns are the same ones the
 * JSON Schemas in {@code schemas/} use (see {@code cloudevent.schema.json#/$defs}), so a record that
 * constructs is a record that encodes to a schema-valid document.
 */
final class Check {

  /**
   * A field's shape: the regular expression the schema uses, and a hand-written test that accepts exactly the same
   * strings (CheckTest compares them on generated strings), because the worker runs these checks for every field of
   * every event and the regular expressions were a visible share of its CPU.
   */
  record Shape(Pattern pattern, Predicate<String> test) {
    boolean matches(String value) {
      return test.test(value);
    }
  }

  static final Shape OWNER = new Shape(Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}"), s -> name(s, 128));
  static final Shape SET_NAME = new Shape(Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}"), s -> name(s, 64));
  static final Shape SCOPE = new Shape(Pattern.compile("branch:\\S{1,255}|pr:[1-9][0-9]{0,9}"), Check::scope);
  static final Shape SHA256 = new Shape(Pattern.compile("[0-9a-f]{64}"), s -> s.length() == 64 && hex(s, 0));
  static final Shape GIT_SHA =
      new Shape(Pattern.compile("[0-9a-f]{40}([0-9a-f]{24})?"), s -> (s.length() == 40 || s.length() == 64) && hex(s, 0));
  static final Shape NO_SPACE = new Shape(Pattern.compile("\\S{1,255}"), s -> noSpace(s, 0, 255));
  private static final Pattern RULE_PATTERN = Pattern.compile("(!|=%?|%=?)?/.*", Pattern.DOTALL);
  static final Shape RULE = new Shape(RULE_PATTERN, s -> RULE_PATTERN.matcher(s).matches());

  private static boolean alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  }

  /** {@code [A-Za-z0-9][A-Za-z0-9._-]{0,max-1}}. */
  private static boolean name(String s, int max) {
    int n = s.length();
    if (n == 0 || n > max || !alnum(s.charAt(0))) {
      return false;
    }
    for (int i = 1; i < n; i++) {
      char c = s.charAt(i);
      if (!alnum(c) && c != '.' && c != '_' && c != '-') {
        return false;
      }
    }
    return true;
  }

  /** {@code [0-9a-f]*} from {@code from} on. */
  private static boolean hex(String s, int from) {
    for (int i = from; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }

  /**
   * {@code \S{1,max}} from {@code from} on: 1 to {@code max} code points (a regular expression counts a surrogate pair as
   * one), none of them one of {@code [ \t\n\x0B\f\r]}.
   */
  private static boolean noSpace(String s, int from, int max) {
    int count = 0;
    for (int i = from; i < s.length(); ) {
      int cp = s.codePointAt(i);
      if (cp == ' ' || cp == '\t' || cp == '\n' || cp == 0x0B || cp == '\f' || cp == '\r') {
        return false;
      }
      i += Character.charCount(cp);
      if (++count > max) {
        return false;
      }
    }
    return count >= 1;
  }

  /** {@code branch:\S{1,255}|pr:[1-9][0-9]{0,9}}. */
  private static boolean scope(String s) {
    if (s.startsWith("branch:")) {
      return noSpace(s, 7, 255);
    }
    if (!s.startsWith("pr:") || s.length() < 4 || s.length() > 13) {
      return false;
    }
    char first = s.charAt(3);
    if (first < '1' || first > '9') {
      return false;
    }
    for (int i = 4; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }

  private Check() {}

  static <T> T present(T value, String field) {
    if (value == null) {
      throw new IllegalArgumentException(field + ": required");
    }
    return value;
  }

  static String text(String value, String field) {
    present(value, field);
    if (value.isBlank()) {
      throw new IllegalArgumentException(field + ": must not be blank");
    }
    return value;
  }

  static String optionalText(String value, String field) {
    return value == null ? null : text(value, field);
  }

  static String matches(String value, Shape shape, String field, String what) {
    present(value, field);
    if (!shape.matches(value)) {
      throw new IllegalArgumentException(field + ": not " + what + ": \"" + value + "\"");
    }
    return value;
  }

  static String owner(String value, String field) {
    return matches(value, OWNER, field, "an owner (letters, digits, '.', '_', '-'; e.g. gong-123)");
  }

  static String setName(String value, String field) {
    return matches(value, SET_NAME, field, "a set name (letters, digits, '.', '_', '-'; at most 64)");
  }

  static String scope(String value, String field) {
    return matches(value, SCOPE, field, "a scope (branch:<name> or pr:<number>)");
  }

  static String sha256(String value, String field) {
    return matches(value, SHA256, field, "a sha256 (64 lower-case hex digits)");
  }

  static String ulid(String value, String field) {
    return Ulid.requireValid(value, field);
  }

  static String optionalUlid(String value, String field) {
    return value == null ? null : Ulid.requireValid(value, field);
  }

  static String absoluteUri(String value, String field) {
    text(value, field);
    try {
      if (new URI(value).isAbsolute()) {
        return value;
      }
    } catch (URISyntaxException e) {
      // reported below
    }
    throw new IllegalArgumentException(field + ": not an absolute URI: \"" + value + "\"");
  }

  static String uriReference(String value, String field) {
    text(value, field);
    try {
      new URI(value);
      return value;
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(field + ": not a URI reference: \"" + value + "\"");
    }
  }

  static long nonNegative(long value, String field) {
    if (value < 0) {
      throw new IllegalArgumentException(field + ": must be >= 0, was " + value);
    }
    return value;
  }

  static <T> List<T> list(List<T> value, String field) {
    present(value, field);
    for (int i = 0; i < value.size(); i++) {
      if (value.get(i) == null) {
        throw new IllegalArgumentException(field + "[" + i + "]: must not be null");
      }
    }
    return List.copyOf(value);
  }
}
