package dev.ephemera.event;

import java.time.Instant;
import java.util.List;

/**
 * {@code ephemera.used}: every set a job was given (topic {@code ephemera.used}, keyed by job id), for
 * the job reporter to show in the check run: name, download link, sha256, size, creation and creator.
 * Emitted when the job completes; a job that used nothing gets an empty list, so "no cache" is explicit.
 */
public record Used(String jobId, String owner, List<UsedSet> sets) implements EventData {

  /**
   * One set staged for (and perhaps restored by) the job.
   *
   * @param fallbackLevel position of {@code scope} in the job's read chain (0 = the job's own scope)
   * @param tarSha256 sha256 of the uncompressed tar stream: the set's identity for people
   * @param archiveSha256 sha256 of the {@code .tar.zst} the download link serves
   * @param root absolute path the set was taken from and is restored to
   * @param createdByJob the job that captured the set
   * @param downloadUrl signed link to the {@code .tar.zst}
   * @param restoredAt nullable: when the job restored it; absent if staged but never restored
   */
  public record UsedSet(
      String name,
      String setId,
      String scope,
      int fallbackLevel,
      String tarSha256,
      long tarSize,
      String archiveSha256,
      long archiveSize,
      int fileCount,
      String root,
      Instant createdAt,
      String createdByJob,
      String downloadUrl,
      Instant restoredAt) {

    public UsedSet {
      Check.setName(name, "name");
      Check.ulid(setId, "set_id");
      Check.scope(scope, "scope");
      Check.nonNegative(fallbackLevel, "fallback_level");
      Check.sha256(tarSha256, "tar_sha256");
      Check.nonNegative(tarSize, "tar_size");
      Check.sha256(archiveSha256, "archive_sha256");
      Check.nonNegative(archiveSize, "archive_size");
      Check.nonNegative(fileCount, "file_count");
      Check.text(root, "root");
      if (!root.startsWith("/")) {
        throw new IllegalArgumentException("root: must be an absolute path: \"" + root + "\"");
      }
      Check.present(createdAt, "created_at");
      Check.ulid(createdByJob, "created_by_job");
      Check.absoluteUri(downloadUrl, "download_url");
    }
  }

  public Used {
    Check.ulid(jobId, "job_id");
    Check.owner(owner, "owner");
    sets = Check.list(sets, "sets");
  }

  @Override
  public EventType type() {
    return EventType.USED;
  }

  @Override
  public String subject() {
    return jobId;
  }

  @Override
  public String key() {
    return jobId;
  }
}
