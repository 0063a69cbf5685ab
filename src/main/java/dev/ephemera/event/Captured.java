package dev.ephemera.event;

/**
 * {@code ephemera.captured}: a job's set became live (topic {@code ephemera.lifecycle}).
 *
 * @param headMoved false when a newer set already held the head (a late job never moves it back)
 */
public record Captured(
    String jobId,
    String owner,
    String name,
    String setId,
    String scope,
    String tarSha256,
    long tarSize,
    String archiveSha256,
    long archiveSize,
    int fileCount,
    boolean headMoved)
    implements JobSetEvent {

  public Captured {
    JobSetEvent.check(jobId, owner, name, setId, scope);
    Check.sha256(tarSha256, "tar_sha256");
    Check.nonNegative(tarSize, "tar_size");
    Check.sha256(archiveSha256, "archive_sha256");
    Check.nonNegative(archiveSize, "archive_size");
    Check.nonNegative(fileCount, "file_count");
  }

  @Override
  public EventType type() {
    return EventType.CAPTURED;
  }
}
