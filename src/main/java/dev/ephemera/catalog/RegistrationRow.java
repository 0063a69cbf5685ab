package dev.ephemera.catalog;

import java.time.Instant;
import java.util.Objects;

/**
 * A set registered without waiting for the worker's digests ({@code registrations} table): it becomes a pending
 * {@link SetRow} under the same id once the worker has verified the stored chunks, or is dropped.
 *
 * @param uploadSession the persist's upload session (nullable): the worker that saw it digested the chunks as they came
 * @param manifestJson  the manifest as the job sent it
 */
public record RegistrationRow(
    String setId,
    String jobId,
    String owner,
    String name,
    String scope,
    String when,
    String uploadSession,
    String manifestJson,
    Instant createdAt) {

  public RegistrationRow {
    Objects.requireNonNull(setId, "setId");
    Objects.requireNonNull(jobId, "jobId");
    Objects.requireNonNull(owner, "owner");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(scope, "scope");
    Objects.requireNonNull(manifestJson, "manifestJson");
    Objects.requireNonNull(createdAt, "createdAt");
    if (!SetRow.WHENS.contains(when)) {
      throw new IllegalArgumentException("when must be one of " + SetRow.WHENS + ", got " + when);
    }
  }
}
