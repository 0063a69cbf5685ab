package dev.ephemera.catalog;

import java.util.Objects;

/**
 * The live set a read chain resolved to.
 *
 * @param set           the live set the head points to
 * @param fallbackLevel position in the read chain of the scope it came from (0 = the job's own scope)
 */
public record ResolvedSet(SetRow set, int fallbackLevel) {
  public ResolvedSet {
    Objects.requireNonNull(set, "set");
    if (fallbackLevel < 0) {
      throw new IllegalArgumentException("fallbackLevel must not be negative");
    }
  }

  /** The scope the set was found in. */
  public String scope() {
    return set.scope();
  }
}
