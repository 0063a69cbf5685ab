package dev.ephemera.catalog;

import java.time.Instant;
import java.util.Objects;
import java.util.Set;

/**
 * A set of files persisted by one job ({@code sets} table). Immutable once inserted, except its status (with
 * {@code statusReason}, {@code liveAt}, {@code completedAt}) and {@code lastUsedAt}.
 *
 * @param completedAt  the creating job's completion time; orders head moves together with {@code setId}
 * @param when         {@code success} (live only if the job succeeds) or {@code always}
 * @param tarSha256    sha256 of the uncompressed tar stream: the set's identity for people
 * @param archiveSha256 sha256 of the concatenated stored zstd frames (the download)
 * @param manifestJson the manifest (chunks, files) as JSON, stored as jsonb
 */
public record SetRow(
    String setId,
    String owner,
    String name,
    String scope,
    SetStatus status,
    String statusReason,
    String createdByJob,
    Instant createdAt,
    Instant liveAt,
    Instant completedAt,
    String rootPath,
    String when,
    String tarSha256,
    long tarSize,
    String archiveSha256,
    long archiveSize,
    int fileCount,
    int chunkCount,
    String manifestJson,
    Instant lastUsedAt) {

  static final Set<String> WHENS = Set.of("success", "always");

  public SetRow {
    Objects.requireNonNull(setId, "setId");
    Objects.requireNonNull(owner, "owner");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(scope, "scope");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(createdByJob, "createdByJob");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(rootPath, "rootPath");
    Objects.requireNonNull(tarSha256, "tarSha256");
    Objects.requireNonNull(archiveSha256, "archiveSha256");
    Objects.requireNonNull(manifestJson, "manifestJson");
    if (!WHENS.contains(when)) {
      throw new IllegalArgumentException("when must be success or always, got " + when);
    }
    if (tarSize < 0 || archiveSize < 0 || fileCount < 0 || chunkCount < 0) {
      throw new IllegalArgumentException("sizes and counts must not be negative");
    }
  }

  /**
   * A new pending set, as the persist path records it before the job completes.
   */
  public static SetRow pending(String setId, String owner, String name, String scope, String createdByJob,
                 Instant createdAt, String rootPath, String when, String tarSha256, long tarSize,
                 String archiveSha256, long archiveSize, int fileCount, int chunkCount,
                 String manifestJson) {
    return new SetRow(setId, owner, name, scope, SetStatus.PENDING, null, createdByJob, createdAt, null, null,
        rootPath, when, tarSha256, tarSize, archiveSha256, archiveSize, fileCount, chunkCount, manifestJson,
        null);
  }
}
