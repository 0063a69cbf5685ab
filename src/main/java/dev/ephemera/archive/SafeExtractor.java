package dev.ephemera.archive;

import dev.ephemera.archive.ArchiveException.Reason;
import dev.ephemera.archive.Manifest.EntryType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Extracts an untrusted tar stream into a fresh, empty staging directory, refusing (with an {@link
 * ArchiveException} naming the entry and the reason) anything that could reach outside it or hurt
 * the machine: absolute names, {@code ..} components, writes through symlinks or hardlinks, links
 * pointing outside, devices and FIFOs, duplicates, too many entries or bytes, truncated or corrupt
 * streams. setuid/setgid bits are dropped with a warning.
 *
 * <p>The staging directory is the only place written; because it is fresh, nothing on disk there
 * can be a pre-existing symlink, and every directory the extractor walks through is one it created.
 * Moving the result into place (and checking the target for pre-existing symlinks) is {@link
 * Restorer}'s job, done only after the whole stream verified.
 *
 * <p>Symlink mtimes are set to the microsecond: the JDK sets a link's own times with lutimes(2).
 *
 * <p>Directory modes and mtimes are not applied here (writing children would change them, and a
 * read-only directory could not be filled): they are returned for the caller to apply last.
 */
public final class SafeExtractor {

  /**
   * One extracted entry.
   *
   * @param path relative path
   * @param type what it is ({@code DIR} entries include directories only implied by others)
   * @param mode permission bits as applied (setuid/setgid dropped)
   * @param mtime modification time from the archive
   * @param explicit false for a directory the archive only implied
   */
  public record Extracted(String path, EntryType type, int mode, Instant mtime, boolean explicit) {}

  /**
   * @param entries everything extracted, in stream order (implied directories when first needed)
   * @param warnings what was tolerated (dropped setuid/setgid bits, ignored entries)
   * @param fileBytes bytes of file content written
   * @param layout where each entry sat in the stream, when asked for ({@link #extract(InputStream, Path, boolean)});
   *     else null
   */
  public record Extraction(List<Extracted> entries, List<String> warnings, long fileBytes, FilesCache.Layout layout) {}

  private static final int COPY_BUFFER = 256 * 1024;
  private static final int DEFAULT_DIR_MODE = 0755;
  /** Files up to this size are read whole and written by the pool; larger ones are streamed on the caller's thread. */
  static final int POOLED_FILE_MAX = 1 << 20;
  /** Bytes of file content read ahead of the writers at most (memory). */
  static final int POOLED_BYTES_MAX = 32 << 20;
  /** The most a large file's content is lent at a time (a chunk's end cuts it shorter). */
  private static final int LENT_PIECE = 1 << 20;

  private final Limits limits;
  private final int writers;

  public SafeExtractor(Limits limits) {
    this(limits, defaultWriters());
  }

  /**
   * @param writers threads writing small files while the stream is parsed on (0: everything on the caller's thread)
   */
  public SafeExtractor(Limits limits, int writers) {
    this.limits = Objects.requireNonNull(limits, "limits");
    if (writers < 0) {
      throw new IllegalArgumentException("writers must not be negative");
    }
    this.writers = writers;
  }

  /** Creating a file costs mostly kernel time, which overlaps with parsing and hashing on other cores. */
  static int defaultWriters() {
    return Math.max(2, Math.min(4, Runtime.getRuntime().availableProcessors()));
  }

  /**
   * Extracts {@code tar} (read to its end, trailing zero padding included) into {@code staging},
   * which must be an existing empty directory that nothing else writes to.
   */
  public Extraction extract(InputStream tar, Path staging) throws IOException {
    return extract(tar, staging, false);
  }

  /** As {@link #extract(InputStream, Path)}; with {@code layout}, also where each entry was in the stream. */
  public Extraction extract(InputStream tar, Path staging, boolean layout) throws IOException {
    try (FileWriters files = new FileWriters(writers, POOLED_BYTES_MAX)) {
      Extraction x = extract(tar, staging, files, layout);
      files.finish();
      return x;
    }
  }

  private Extraction extract(InputStream tar, Path staging, FileWriters files, boolean recordLayout)
      throws IOException {
    TarReader reader = new TarReader(tar, recordLayout);
    List<FilesCache.Entry> layout = recordLayout ? new ArrayList<>() : null;
    Map<String, Integer> index = new HashMap<>(); // path -> position in entries
    List<Extracted> entries = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    byte[] buffer = new byte[COPY_BUFFER];
    long fileBytes = 0;
    long count = 0;
    FileTime now = FileTime.from(Instant.now());

    for (TarReader.Header h; (h = reader.next()) != null; ) {
      String name = normalise(h.name());
      if (name == null) {
        continue; // the root directory itself ("./"): nothing to create
      }
      if (++count > limits.maxEntries()) {
        throw new ArchiveException(Reason.TOO_MANY_ENTRIES, name, "limit " + limits.maxEntries());
      }
      EntryType type = typeOf(h, name);
      int mode = h.mode();
      if ((mode & 06000) != 0) {
        warnings.add(name + ": setuid/setgid bits dropped");
        mode &= ~06000;
      }
      Integer existing = index.get(name);
      if (existing != null) {
        Extracted e = entries.get(existing);
        if (type == EntryType.DIR && e.type() == EntryType.DIR && !e.explicit()) {
          entries.set(existing, new Extracted(name, EntryType.DIR, mode, h.mtime(), true));
          continue;
        }
        throw new ArchiveException(Reason.DUPLICATE, name, "already extracted as a " + e.type().name().toLowerCase());
      }
      ensureParents(name, staging, index, entries);
      Path dest = staging.resolve(name);
      switch (type) {
        case DIR -> Files.createDirectory(dest);
        case FILE -> {
          if (h.size() > limits.maxTotalBytes() - fileBytes) {
            throw new ArchiveException(Reason.TOO_LARGE, name, "limit " + limits.maxTotalBytes() + " bytes");
          }
          FileTime mtime = FileTime.from(h.mtime());
          if (h.size() <= POOLED_FILE_MAX && files.pooled()) {
            int length = (int) h.size();
            byte[] content = files.buffer(length);
            reader.readFully(content, length);
            files.write(dest, content, length, mode, mtime, now);
          } else {
            try (SeekableByteChannel out = FileWriters.create(dest, mode)) {
              if (reader.lends()) {
                // A restore: straight from the verified chunk's buffer to the file, no copy on the way.
                for (ByteBuffer piece; (piece = reader.lend(LENT_PIECE)) != null; ) {
                  FileWriters.writeFully(out, piece);
                }
              } else {
                int n;
                while ((n = reader.read(buffer, 0, buffer.length)) > 0) {
                  FileWriters.writeFully(out, ByteBuffer.wrap(buffer, 0, n));
                }
              }
            }
            FileWriters.finish(dest, mode, mtime, now);
          }
          fileBytes += h.size();
        }
        case SYMLINK -> {
          if (!EntryNames.symlinkStaysInside(name, h.linkName())) {
            throw new ArchiveException(Reason.LINK_OUTSIDE_ROOT, name, "symlink to '" + h.linkName() + "'");
          }
          Files.createSymbolicLink(dest, Path.of(h.linkName()));
          Files.getFileAttributeView(dest, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
              .setTimes(FileTime.from(h.mtime()), null, null);
        }
        case HARDLINK -> {
          String target = hardlinkTarget(name, h.linkName(), index, entries);
          files.awaitWritten(); // the target may still be in a writer's hands
          Files.createLink(dest, staging.resolve(target));
        }
      }
      index.put(name, entries.size());
      entries.add(new Extracted(name, type, mode, h.mtime(), true));
      if (layout != null) {
        layout.add(new FilesCache.Entry(name, reader.headerStart(), reader.headerHash()));
      }
    }
    return new Extraction(
        entries, warnings, fileBytes, layout == null ? null : new FilesCache.Layout(layout, reader.position()));
  }

  /** Strips "./" prefixes and a trailing '/', then refuses what is not a clean relative name. */
  private static String normalise(String raw) throws ArchiveException {
    if (raw.startsWith("/")) {
      throw new ArchiveException(Reason.ABSOLUTE_PATH, raw, null);
    }
    String name = raw;
    while (name.startsWith("./")) {
      name = name.substring(2);
    }
    while (name.endsWith("/")) {
      name = name.substring(0, name.length() - 1);
    }
    if (name.isEmpty() || name.equals(".")) {
      return null;
    }
    Reason problem = EntryNames.problem(name);
    if (problem != null) {
      throw new ArchiveException(problem, raw, null);
    }
    return name;
  }

  private static EntryType typeOf(TarReader.Header h, String name) throws ArchiveException {
    return switch (h.type()) {
      case '0', 0, '7' -> EntryType.FILE;
      case '1' -> EntryType.HARDLINK;
      case '2' -> EntryType.SYMLINK;
      case '5' -> EntryType.DIR;
      case '3', '4', '6' -> throw new ArchiveException(
          Reason.DEVICE_OR_FIFO, name, h.type() == '6' ? "FIFO" : "device file");
      default -> throw new ArchiveException(Reason.UNSUPPORTED_ENTRY, name, "type '" + (char) h.type() + "'");
    };
  }

  /** Every ancestor must be a directory this extraction made; missing ones are created. */
  private static void ensureParents(String name, Path staging, Map<String, Integer> index, List<Extracted> entries)
      throws IOException {
    int from = 0;
    for (int slash; (slash = name.indexOf('/', from)) >= 0; from = slash + 1) {
      String parent = name.substring(0, slash);
      Integer at = index.get(parent);
      if (at == null) {
        Files.createDirectory(staging.resolve(parent));
        index.put(parent, entries.size());
        entries.add(new Extracted(parent, EntryType.DIR, DEFAULT_DIR_MODE, Instant.EPOCH, false));
      } else {
        EntryType t = entries.get(at).type();
        if (t == EntryType.SYMLINK) {
          throw new ArchiveException(Reason.THROUGH_SYMLINK, name, "'" + parent + "' is a symlink");
        }
        if (t != EntryType.DIR) {
          throw new ArchiveException(Reason.THROUGH_HARDLINK, name, "'" + parent + "' is not a directory");
        }
      }
    }
  }

  /** A hardlink may only point at a regular file extracted earlier from the same stream. */
  private static String hardlinkTarget(String name, String rawTarget, Map<String, Integer> index, List<Extracted> entries)
      throws ArchiveException {
    if (rawTarget.startsWith("/")) {
      throw new ArchiveException(Reason.LINK_OUTSIDE_ROOT, name, "hardlink to absolute '" + rawTarget + "'");
    }
    String target = rawTarget;
    while (target.startsWith("./")) {
      target = target.substring(2);
    }
    if (EntryNames.problem(target) != null) {
      throw new ArchiveException(Reason.LINK_OUTSIDE_ROOT, name, "hardlink to '" + rawTarget + "'");
    }
    Integer at = index.get(target);
    if (at == null) {
      throw new ArchiveException(
          Reason.LINK_OUTSIDE_ROOT, name, "hardlink to '" + rawTarget + "', which is not an earlier file of the archive");
    }
    EntryType t = entries.get(at).type();
    if (t == EntryType.SYMLINK) {
      throw new ArchiveException(Reason.THROUGH_SYMLINK, name, "hardlink to symlink '" + rawTarget + "'");
    }
    if (t != EntryType.FILE && t != EntryType.HARDLINK) {
      throw new ArchiveException(Reason.THROUGH_HARDLINK, name, "hardlink to non-file '" + rawTarget + "'");
    }
    return target;
  }
}
