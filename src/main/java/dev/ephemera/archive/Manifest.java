package dev.ephemera.archive;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What a persisted set is made of (DESIGN.md §7): the chunks of its tar stream in order, every
 * entry of the tar stream, and the digests people and restorers check.
 *
 * <p>JSON form (snake_case, {@code version} 1) is the one stored next to the chunks and in the
 * catalog; unknown fields are ignored when reading so fields can be added compatibly.
 *
 * @param version format version, currently {@value #VERSION}
 * @param root absolute path the set was taken from (where {@code restore} puts it back)
 * @param chunks the tar stream's chunks, in stream order
 * @param files every tar entry in stream order (implied parent directories included); {@code null} only in the
 *     manifest a persist registers, which leaves the listing to the worker: it lists the stream itself and fills them in
 * @param tarSha256 sha256 of the uncompressed tar stream: the set's identity for people; {@code null} only in the
 *     manifest a persist registers when it left the stream digests to the worker, which computes them from the
 *     stored chunks and fills both in
 * @param tarSize length of the uncompressed tar stream
 * @param archiveSha256 sha256 of the stored zstd frames concatenated in order (what the download
 *     link serves); {@code null} when the writer reused stored chunks it never saw compressed: fill
 *     it in with {@link ArchiveDigest#compute} where the frames are at hand
 * @param archiveSize total length of the stored frames in order
 * @param fileCount number of entries that are not directories
 * @param warnings what the writer reported and tolerated (changed files, skipped links, ...)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Manifest(
    int version,
    String root,
    List<Chunk> chunks,
    List<FileEntry> files,
    String tarSha256,
    long tarSize,
    String archiveSha256,
    long archiveSize,
    long fileCount,
    List<String> warnings) {

  /** The current format version. */
  public static final int VERSION = 1;

  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .addModule(new JavaTimeModule())
          .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .build();

  public Manifest {
    if (version != VERSION) {
      throw new IllegalArgumentException("unsupported manifest version " + version);
    }
    Objects.requireNonNull(root, "root");
    if (!root.startsWith("/")) {
      throw new IllegalArgumentException("root must be an absolute path: " + root);
    }
    chunks = List.copyOf(chunks);
    files = files == null ? null : List.copyOf(files);
    warnings = warnings == null ? List.of() : List.copyOf(warnings);
    if (tarSha256 != null) {
      Sha256.requireHex(tarSha256, "tar_sha256");
    }
    if (archiveSha256 != null) {
      Sha256.requireHex(archiveSha256, "archive_sha256");
    }
    long raw = 0;
    long stored = 0;
    for (Chunk c : chunks) {
      raw += c.rawSize();
      stored += c.storedSize();
    }
    if (raw != tarSize) {
      throw new IllegalArgumentException("chunks add up to " + raw + " bytes, tar_size is " + tarSize);
    }
    if (stored != archiveSize) {
      throw new IllegalArgumentException(
          "stored chunks add up to " + stored + " bytes, archive_size is " + archiveSize);
    }
    if (fileCount < 0) {
      throw new IllegalArgumentException("file_count must not be negative");
    }
  }

  /** One content-defined chunk: stored once under {@code chunks/<sha256>} as one zstd frame. */
  public record Chunk(String sha256, int rawSize, long storedSize) {
    public Chunk {
      Sha256.requireHex(sha256, "chunk sha256");
      if (rawSize <= 0 || storedSize <= 0) {
        throw new IllegalArgumentException("chunk sizes must be positive: " + rawSize + "/" + storedSize);
      }
    }
  }

  /** Entry types of the tar stream. */
  public enum EntryType {
    FILE,
    DIR,
    SYMLINK,
    HARDLINK;

    @com.fasterxml.jackson.annotation.JsonValue
    String json() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    @com.fasterxml.jackson.annotation.JsonCreator
    static EntryType fromJson(String s) {
      return valueOf(s.toUpperCase(java.util.Locale.ROOT));
    }
  }

  /**
   * One tar entry.
   *
   * @param path relative path, '/'-separated, no trailing slash
   * @param type what the entry is
   * @param size content bytes (0 for everything but files)
   * @param mode permission bits as stored (lower 12 bits, setuid/setgid never set)
   * @param mtime modification time as stored (nanosecond precision when the file system had it)
   * @param sha256 content hash, for files only (for hardlinks it is the target's); {@code null} where the writer left
   *     file digests to the worker (a persist's own entries, never sent: the worker lists the stream)
   * @param linkTarget symlink target, or for hardlinks the path of the file it links to
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record FileEntry(
      String path,
      EntryType type,
      long size,
      int mode,
      Instant mtime,
      String sha256,
      String linkTarget) {
    public FileEntry {
      Objects.requireNonNull(path, "path");
      Objects.requireNonNull(type, "type");
      Objects.requireNonNull(mtime, "mtime");
      if ((mode & ~07777) != 0 || (mode & 06000) != 0) {
        throw new IllegalArgumentException("mode out of range for " + path + ": " + Integer.toOctalString(mode));
      }
      if (sha256 != null) {
        Sha256.requireHex(sha256, "sha256 of " + path);
      }
      if ((type == EntryType.SYMLINK || type == EntryType.HARDLINK) && linkTarget == null) {
        throw new IllegalArgumentException(type + " " + path + " needs a link target");
      }
      if (size < 0 || (type != EntryType.FILE && size != 0)) {
        throw new IllegalArgumentException("bad size " + size + " for " + type + " " + path);
      }
    }
  }

  /** The same manifest with both stream digests filled in (as computed from the stored chunks). */
  public Manifest withDigests(String tarSha256, String archiveSha256) {
    return new Manifest(
        version, root, chunks, files, tarSha256, tarSize, archiveSha256, archiveSize, fileCount, warnings);
  }

  /** The same manifest with these entries (and their count of entries that are not directories). */
  public Manifest withFiles(List<FileEntry> entries) {
    long count = entries.stream().filter(e -> e.type() != EntryType.DIR).count();
    return new Manifest(
        version, root, chunks, entries, tarSha256, tarSize, archiveSha256, archiveSize, count, warnings);
  }

  /** The same manifest without its entries, as a persist registers it (the worker lists them). */
  public Manifest withoutFiles() {
    return new Manifest(
        version, root, chunks, null, tarSha256, tarSize, archiveSha256, archiveSize, fileCount, warnings);
  }

  public String toJson() {
    try {
      return JSON.writeValueAsString(this);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Parses and validates a manifest.
   *
   * @throws IllegalArgumentException when the JSON is malformed or fails validation
   */
  public static Manifest fromJson(String json) {
    try {
      return JSON.readValue(json, Manifest.class);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("invalid manifest: " + e.getOriginalMessage(), e);
    }
  }
}
