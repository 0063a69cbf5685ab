package dev.ephemera.catalog;

import java.util.Locale;

/** How a job used a set: offered to it at start ({@code STAGED}) or actually unfurled ({@code RESTORED}). */
public enum UseKind {
  STAGED, RESTORED;

  /** The value stored in {@code uses.kind}. */
  public String db() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a {@code uses.kind} value. */
  public static UseKind fromDb(String value) {
    return valueOf(value.toUpperCase(Locale.ROOT));
  }
}
