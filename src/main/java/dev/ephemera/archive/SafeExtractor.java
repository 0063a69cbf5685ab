package dev.ephemera.archive;

import dev.ephemera.archive.ArchiveException.Reason;
import dev.ephemera.archive.Manifest.EntryType;
import java.io.IOException;
import java.io.InputStream;
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
    return walk(new TarReader(tar, recordLayout), new Writing(staging, files));
  }

  /**
   * Reads {@code tar} to its end, refusing exactly what {@link #extract} refuses about the stream itself (names,
   * links, entry types, duplicates, the entry and byte limits, truncation), but writes nothing: what the worker checks
   * of a persist before the set can be restored, and how it lists the set's entries with their files' sha256 itself
   * instead of taking the persisting job's word. The compression ratio is the caller's to check (it has the frames).
   *
   * @throws ArchiveException naming the entry and the reason, as a restore of the stream would
   */
  public Listing list(InputStream tar) throws IOException {
    Lister lister = new Lister();
    Extraction walked = walk(new TarReader(tar), lister);
    return new Listing(lister.entries, walked.warnings(), walked.fileBytes());
  }

  /** Walks the stream, checking every entry before {@code target} sees it. */
  private Extraction walk(TarReader reader, Target target) throws IOException {
    List<FilesCache.Entry> layout = reader.recordsLayout() ? new ArrayList<>() : null;
    Map<String, Integer> index = new HashMap<>(); // path -> position in entries
    List<Extracted> entries = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    long fileBytes = 0;
    long count = 0;

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
          target.directory(name, mode, h.mtime(), true);
          continue;
        }
        throw new ArchiveException(Reason.DUPLICATE, name, "already extracted as a " + e.type().name().toLowerCase());
      }
      ensureParents(name, target, index, entries);
      switch (type) {
        case DIR -> target.directory(name, mode, h.mtime(), false);
        case FILE -> {
          if (h.size() > limits.maxTotalBytes() - fileBytes) {
            throw new ArchiveException(Reason.TOO_LARGE, name, "limit " + limits.maxTotalBytes() + " bytes");
          }
          target.file(name, mode, h.mtime(), h.size(), reader);
          fileBytes += h.size();
        }
        case SYMLINK -> {
          if (!EntryNames.symlinkStaysInside(name, h.linkName())) {
            throw new ArchiveException(Reason.LINK_OUTSIDE_ROOT, name, "symlink to '" + h.linkName() + "'");
          }
          target.symlink(name, mode, h.mtime(), h.linkName());
        }
        case HARDLINK -> target.hardlink(name, mode, h.mtime(), hardlinkTarget(name, h.linkName(), index, entries));
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

  /** What the checked entries become: files in a staging directory, or a listing of the stream. */
  private interface Target {
    /** A directory the stream only implies (a parent of an entry, not named itself yet). */
    void impliedDirectory(String name) throws IOException;

    /** A directory the stream names; {@code implied}: it was implied earlier (and exists already). */
    void directory(String name, int mode, Instant mtime, boolean implied) throws IOException;

    /** A regular file: its content is the next {@code size} bytes of {@code reader}. */
    void file(String name, int mode, Instant mtime, long size, TarReader reader) throws IOException;

    void symlink(String name, int mode, Instant mtime, String link) throws IOException;

    /** A hardlink to {@code target}, a file or hardlink earlier in the stream (checked). */
    void hardlink(String name, int mode, Instant mtime, String target) throws IOException;
  }

  /** Writes the entries under a fresh staging directory (directory modes and times are the caller's, last). */
  private static final class Writing implements Target {
    private final Path staging;
    private final FileWriters files;
    private final byte[] buffer = new byte[COPY_BUFFER];
    private final FileTime now = FileTime.from(Instant.now());

    Writing(Path staging, FileWriters files) {
      this.staging = staging;
      this.files = files;
    }

    @Override
    public void impliedDirectory(String name) throws IOException {
      Files.createDirectory(staging.resolve(name));
    }

    @Override
    public void directory(String name, int mode, Instant mtime, boolean implied) throws IOException {
      if (!implied) {
        Files.createDirectory(staging.resolve(name));
      }
    }

    @Override
    public void file(String name, int mode, Instant mtime, long size, TarReader reader) throws IOException {
      Path dest = staging.resolve(name);
      FileTime time = FileTime.from(mtime);
      if (size <= POOLED_FILE_MAX && files.pooled()) {
        int length = (int) size;
        byte[] content = files.buffer(length);
        reader.readFully(content, length);
        files.write(dest, content, length, mode, time, now);
        return;
      }
      try (SeekableByteChannel out = FileWriters.create(dest, mode)) {
        // a restore: straight from the verified chunk's buffer to the file, no copy on the way
        reader.content(buffer, LENT_PIECE, piece -> FileWriters.writeFully(out, piece));
      }
      FileWriters.finish(dest, mode, time, now);
    }

    @Override
    public void symlink(String name, int mode, Instant mtime, String link) throws IOException {
      Path dest = staging.resolve(name);
      Files.createSymbolicLink(dest, Path.of(link));
      Files.getFileAttributeView(dest, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
          .setTimes(FileTime.from(mtime), null, null);
    }

    @Override
    public void hardlink(String name, int mode, Instant mtime, String target) throws IOException {
      files.awaitWritten(); // the target may still be in a writer's hands
      Files.createLink(staging.resolve(name), staging.resolve(target));
    }
  }

  /**
   * A stream's entries as a manifest lists them, read by {@link #list}.
   *
   * @param entries every entry the stream names, in stream order, as {@link Manifest#files()} lists them (files and
   *     hardlinks with their content's sha256)
   * @param warnings what was tolerated (dropped setuid/setgid bits)
   * @param fileBytes bytes of file content
   */
  public record Listing(List<Manifest.FileEntry> entries, List<String> warnings, long fileBytes) {
    public Listing {
      entries = List.copyOf(entries);
      warnings = List.copyOf(warnings);
    }
  }

  /** Lists the entries with their content's sha256, writing nothing. */
  private static final class Lister implements Target {
    private final List<Manifest.FileEntry> entries = new ArrayList<>();
    /** The content sha256 of every file and hardlink so far, by path (a hardlink lists its target's). */
    private final Map<String, String> contents = new HashMap<>();
    private final java.security.MessageDigest digest = Sha256.newDigest();
    private final byte[] buffer = new byte[COPY_BUFFER];

    @Override
    public void impliedDirectory(String name) {}

    @Override
    public void directory(String name, int mode, Instant mtime, boolean implied) {
      entries.add(new Manifest.FileEntry(name, EntryType.DIR, 0, mode, mtime, null, null));
    }

    @Override
    public void file(String name, int mode, Instant mtime, long size, TarReader reader) throws IOException {
      digest.reset();
      reader.content(buffer, LENT_PIECE, digest::update);
      String sha = Sha256.hex(digest.digest());
      contents.put(name, sha);
      entries.add(new Manifest.FileEntry(name, EntryType.FILE, size, mode, mtime, sha, null));
    }

    @Override
    public void symlink(String name, int mode, Instant mtime, String link) {
      entries.add(new Manifest.FileEntry(name, EntryType.SYMLINK, 0, mode, mtime, null, link));
    }

    @Override
    public void hardlink(String name, int mode, Instant mtime, String target) {
      String sha = contents.get(target);
      contents.put(name, sha);
      entries.add(new Manifest.FileEntry(name, EntryType.HARDLINK, 0, mode, mtime, sha, target));
    }
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
  private static void ensureParents(String name, Target target, Map<String, Integer> index, List<Extracted> entries)
      throws IOException {
    int from = 0;
    for (int slash; (slash = name.indexOf('/', from)) >= 0; from = slash + 1) {
      String parent = name.substring(0, slash);
      Integer at = index.get(parent);
      if (at == null) {
        target.impliedDirectory(parent);
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
