package dev.ephemera.api;

import dev.ephemera.catalog.SetRow;
import java.time.Instant;

/**
 * A set as the API shows it to the job-side CLI: identity, where it was found, its hashes and a signed download link.
 *
 * @param fallbackLevel position of the set's scope in the asking job's read chain (-1 when the job created it)
 * @param tarSha256 null while the status is {@link #VERIFYING}, as is {@code archiveSha256}
 */
public record SetView(
    String setId,
    String name,
    String scope,
    int fallbackLevel,
    String status,
    String root,
    String tarSha256,
    long tarSize,
    String archiveSha256,
    long archiveSize,
    int fileCount,
    int chunkCount,
    Instant createdAt,
    String createdByJob,
    String downloadUrl) {

  /** The status of a set registered without waiting, until the worker has verified it (no digests yet). */
  public static final String VERIFYING = "verifying";

  static SetView of(SetRow set, int fallbackLevel, String downloadUrl) {
    return new SetView(
        set.setId(),
        set.name(),
        set.scope(),
        fallbackLevel,
        set.status().name().toLowerCase(java.util.Locale.ROOT),
        set.rootPath(),
        set.tarSha256(),
        set.tarSize(),
        set.archiveSha256(),
        set.archiveSize(),
        set.fileCount(),
        set.chunkCount(),
        set.createdAt(),
        set.createdByJob(),
        downloadUrl);
  }
}
