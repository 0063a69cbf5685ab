package dev.ephemera.policy;

import java.util.Objects;

/**
 * Where a set lives within an owner: {@code branch:<name>} or {@code pr:<number>}. The text form is what the catalog,
 * the events and people see.
 */
public record Scope(Kind kind, String value) {
  /** The two kinds of scope of DESIGN.md §5. */
  public enum Kind {
    BRANCH("branch"),
    PR("pr");

    private final String prefix;

    Kind(String prefix) {
      this.prefix = prefix;
    }
  }

  public Scope {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(value, "value");
    if (value.isEmpty()) {
      throw new IllegalArgumentException("scope value must not be empty");
    }
    if (kind == Kind.PR && !value.matches("[1-9][0-9]{0,9}")) {
      throw new IllegalArgumentException("pull request scope needs a positive number, got '" + value + "'");
    }
  }

  public static Scope branch(String name) {
    return new Scope(Kind.BRANCH, name);
  }

  public static Scope pullRequest(int number) {
    return new Scope(Kind.PR, Integer.toString(number));
  }

  /** Parses {@code branch:main} or {@code pr:1432}. */
  public static Scope parse(String text) {
    int colon = text.indexOf(':');
    if (colon > 0) {
      String prefix = text.substring(0, colon);
      String value = text.substring(colon + 1);
      for (Kind kind : Kind.values()) {
        if (kind.prefix.equals(prefix)) {
          return new Scope(kind, value);
        }
      }
    }
    throw new IllegalArgumentException("scope must look like branch:<name> or pr:<number>, got '" + text + "'");
  }

  @Override
  public String toString() {
    return kind.prefix + ":" + value;
  }
}
