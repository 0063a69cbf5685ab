package dev.ephemera.catalog;

import java.time.Instant;
import java.util.Objects;

/** A set a job was given or restored ({@code uses} table); the stuff of the {@code ephemera.used} report. */
public record UseRow(String jobId, String setId, UseKind kind, String name, String scope, int fallbackLevel,
           Instant at) {
  public UseRow {
    Objects.requireNonNull(jobId, "jobId");
    Objects.requireNonNull(setId, "setId");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(scope, "scope");
    Objects.requireNonNull(at, "at");
    if (fallbackLevel < 0) {
      throw new IllegalArgumentException("fallbackLevel must not be negative");
    }
  }
}
