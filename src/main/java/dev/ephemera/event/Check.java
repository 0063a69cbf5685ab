package dev.ephemera.event;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Field checks shared by the event records' compact constructors. The patterns are the same ones the
 * JSON Schemas in {@code schemas/} use (see {@code cloudevent.schema.json#/$defs}), so a record that
 * constructs is a record that encodes to a schema-valid document.
 */
final class Check {

  static final Pattern OWNER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  static final Pattern SET_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  static final Pattern SCOPE = Pattern.compile("branch:\\S{1,255}|pr:[1-9][0-9]{0,9}");
  static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
  static final Pattern GIT_SHA = Pattern.compile("[0-9a-f]{40}([0-9a-f]{24})?");
  static final Pattern NO_SPACE = Pattern.compile("\\S{1,255}");
  static final Pattern RULE = Pattern.compile("(!|=%?|%=?)?/.*", Pattern.DOTALL);

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

  static String matches(String value, Pattern pattern, String field, String what) {
    present(value, field);
    if (!pattern.matcher(value).matches()) {
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
