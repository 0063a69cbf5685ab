package dev.ephemera.policy;

import java.util.List;
import java.util.Optional;

/**
 * What a job may read, in fallback order (index = fallback level), and the one scope it may write, if any.
 */
public record Access(List<Scope> reads, Optional<Scope> write) {
  public static final Access NOTHING = new Access(List.of(), Optional.empty());

  public Access {
    reads = List.copyOf(reads);
    if (reads.stream().distinct().count() != reads.size()) {
      throw new IllegalArgumentException("read chain has duplicate scopes: " + reads);
    }
  }

  public boolean mayRead(Scope scope) {
    return reads.contains(scope);
  }

  public boolean mayWrite(Scope scope) {
    return write.map(scope::equals).orElse(false);
  }

  /** The fallback level of {@code scope} in this job's read chain, or -1. */
  public int fallbackLevel(Scope scope) {
    return reads.indexOf(scope);
  }
}
