package dev.ephemera.archive;

import dev.ephemera.archive.Manifest.EntryType;
import dev.ephemera.archive.Manifest.FileEntry;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Writes a deterministic POSIX pax tar stream of selected paths under a root: the same tree gives
 * the same bytes.
 *
 * <p>Entries are sorted by the unsigned UTF-8 bytes of their path; every parent directory of a
 * selected path gets an entry of its own (so directory modes and mtimes round-trip); owner and group
 * are numeric 0 with no names; the mode keeps the lower 12 bits minus setuid/setgid; the mtime keeps
 * its nanoseconds (pax {@code mtime}). Symlinks are kept only when {@link
 * EntryNames#symlinkStaysInside they provably stay inside the root}; others are reported and
 * skipped, as are sockets, FIFOs and devices. Files sharing an inode become hardlink entries (when
 * enabled). While a file is read its sha256 is computed for the manifest (unless {@link Options#fileDigests} is off);
 * a file that vanishes or
 * changes is reported to the {@link FileChange.Policy}, and the stream stays consistent (each entry
 * holds exactly the size its header announces).
 *
 * <p>Not thread-safe; use one instance per stream.
 */
public final class TarWriter {

  /**
   * @param hardlinks write files sharing an inode as hardlink entries (otherwise each is a copy)
   * @param changePolicy decides, per file, whether its changing or vanishing while read is fatal
   *     ({@link FileChange.Policy#perPath}: per output rule)
   * @param fileDigests compute each file's sha256 for its entry; off, entries carry none (a persist: the worker lists
   *     the stream it stores and hashes every file itself, so the job does not spend a pass on them)
   */
  public record Options(boolean hardlinks, FileChange.Policy changePolicy, boolean fileDigests) {
    /** Hardlinks on, every change fatal, file digests computed. */
    public static final Options DEFAULTS = new Options(true, FileChange.Policy.FAIL);

    public Options {
      Objects.requireNonNull(changePolicy, "changePolicy");
    }

    /** File digests computed. */
    public Options(boolean hardlinks, FileChange.Policy changePolicy) {
      this(hardlinks, changePolicy, true);
    }

    public Options withFileDigests(boolean on) {
      return new Options(hardlinks, changePolicy, on);
    }
  }

  /**
   * What was written.
   *
   * @param entries every entry written, in stream order
   * @param warnings what was reported and tolerated or skipped
   * @param bytesWritten length of the tar stream
   */
  public record Result(List<FileEntry> entries, List<String> warnings, long bytesWritten) {
    public Result {
      entries = List.copyOf(entries);
      warnings = List.copyOf(warnings);
    }
  }

  private static final int COPY_BUFFER = 256 * 1024;
  static final String ATTRIBUTES = "unix:mode,ino,dev,nlink,size,lastModifiedTime,ctime";
  private static final int S_IFMT = 0170000;
  private static final int S_IFREG = 0100000;
  private static final int S_IFDIR = 0040000;
  private static final int S_IFLNK = 0120000;

  /** Opens a file for reading; a seam so tests can simulate files changing while read. */
  @FunctionalInterface
  interface Opener {
    /** Opens without following a symlink (O_NOFOLLOW). */
    ReadableByteChannel open(Path file) throws IOException;
  }

  private static final Opener FILES =
      file -> FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);

  private final Options options;
  private final Opener opener;
  private final byte[] block = new byte[TarFormat.BLOCK];
  private final byte[] buffer = new byte[COPY_BUFFER];

  public TarWriter(Options options) {
    this(options, FILES);
  }

  TarWriter(Options options, Opener opener) {
    this.options = Objects.requireNonNull(options, "options");
    this.opener = Objects.requireNonNull(opener, "opener");
  }

  /**
   * One entry the stream will hold, as decided from its lstat (nothing read yet).
   *
   * @param path relative path
   * @param type {@code FILE}, {@code DIR} or {@code SYMLINK} (whether a file becomes a hardlink entry is decided while
   *     writing, by the files written before it)
   * @param mode permission bits as they will be stored
   * @param mtime as it will be stored
   * @param size content bytes of a file (0 otherwise)
   * @param linkTarget a symlink's target as it will be stored
   * @param stat a file's lstat; null otherwise
   */
  record Planned(String path, EntryType type, int mode, Instant mtime, long size, String linkTarget, Stat stat) {

    /**
     * Writes this entry's header as {@code type} ({@code HARDLINK}: a link to {@code linkTo}); returns bytes written.
     */
    long writeHeader(OutputStream out, byte[] block, EntryType as, String linkTo) throws IOException {
      return switch (as) {
        case DIR -> TarFormat.writeHeader(out, block, path + "/", TarFormat.TYPE_DIR, mode, 0, mtime, null);
        case SYMLINK -> TarFormat.writeHeader(out, block, path, TarFormat.TYPE_SYMLINK, mode, 0, mtime, linkTarget);
        case HARDLINK -> TarFormat.writeHeader(out, block, path, TarFormat.TYPE_HARDLINK, mode, 0, mtime, linkTo);
        case FILE -> TarFormat.writeHeader(out, block, path, TarFormat.TYPE_FILE, mode, size, mtime, null);
      };
    }

    /** The manifest's entry for this one written as {@code as}, with a file's (or a hardlink target's) sha256. */
    FileEntry entry(EntryType as, String sha256, String linkTo) {
      return switch (as) {
        case DIR -> new FileEntry(path, EntryType.DIR, 0, mode, mtime, null, null);
        case SYMLINK -> new FileEntry(path, EntryType.SYMLINK, 0, mode, mtime, null, linkTarget);
        case HARDLINK -> new FileEntry(path, EntryType.HARDLINK, 0, mode, mtime, sha256, linkTo);
        case FILE -> new FileEntry(path, EntryType.FILE, size, mode, mtime, sha256, null);
      };
    }

    /** The (dev, ino) of a file that has other names, when hardlinks are written as such; else null. */
    List<Object> inode(boolean hardlinks) {
      return hardlinks && type == EntryType.FILE && stat.nlink() > 1 ? List.of(stat.dev(), stat.ino()) : null;
    }
  }

  /** What a file's lstat says, as much as the writers compare (kept for every file of a plan: compact). */
  record Stat(Object dev, Object ino, int nlink, long size, FileTime mtime, FileTime ctime) {
    static Stat of(Map<String, Object> attrs) {
      return new Stat(attrs.get("dev"), attrs.get("ino"), (Integer) attrs.get("nlink"), (Long) attrs.get("size"),
          (FileTime) attrs.get("lastModifiedTime"), (FileTime) attrs.get("ctime"));
    }
  }

  /**
   * What a stream will hold: its entries in stream order, and what was reported while deciding.
   *
   * @param root absolute, normalised directory the paths are relative to
   */
  record Plan(Path root, List<Planned> entries, List<String> warnings) {}

  /**
   * Writes the tar stream of {@code paths} (relative to {@code root}; regular files, symlinks and
   * empty directories; any order, duplicates ignored) to {@code out}, ending with the end-of-archive
   * marker. Does not close {@code out}.
   *
   * @throws IllegalArgumentException when a path is not a clean relative path
   * @throws FileChangedException when a file changed or vanished and the policy does not tolerate it
   */
  public Result write(Path root, Collection<String> paths, OutputStream out) throws IOException {
    return write(plan(root, paths), out);
  }

  /**
   * Decides every entry of the stream of {@code paths} from an lstat of each (and a readlink of each symlink): the
   * parents of every path, in order; what is skipped, with a warning.
   *
   * @throws IllegalArgumentException when a path is not a clean relative path
   * @throws FileChangedException when a file vanished and the policy does not tolerate it
   */
  Plan plan(Path root, Collection<String> paths) throws IOException {
    Path base = root.toAbsolutePath().normalize();
    // Every path once, with its parents; one sort at the end (the paths mostly come sorted already).
    Set<String> seen = new HashSet<>();
    Set<String> parents = new HashSet<>();
    List<String> all = new ArrayList<>();
    for (String p : paths) {
      String path = p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
      if (EntryNames.problem(path) != null) {
        throw new IllegalArgumentException("not a clean relative path: '" + p + "'");
      }
      if (seen.add(path)) {
        all.add(path);
      }
      for (String parent = EntryNames.parent(path); parent != null; parent = EntryNames.parent(parent)) {
        if (!parents.add(parent)) {
          break; // and its own parents are there too
        }
        if (seen.add(parent)) {
          all.add(parent);
        }
      }
    }
    all.sort(EntryNames.ORDER);

    List<Planned> planned = new ArrayList<>(all.size());
    List<String> warnings = new ArrayList<>();
    Set<String> skippedDirs = new HashSet<>();
    for (String path : all) {
      if (underSkipped(path, skippedDirs)) {
        continue;
      }
      Path file = base.resolve(path);
      Map<String, Object> attrs;
      try {
        attrs = Files.readAttributes(file, ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException e) {
        change(new FileChange(path, FileChange.Kind.VANISHED, "no longer exists"), warnings);
        skippedDirs.add(path);
        continue;
      }
      int rawMode = (Integer) attrs.get("mode");
      int mode = rawMode & 07777 & ~06000;
      Instant mtime = ((FileTime) attrs.get("lastModifiedTime")).toInstant();
      int fileType = rawMode & S_IFMT;

      if (fileType == S_IFDIR) {
        planned.add(new Planned(path, EntryType.DIR, mode, mtime, 0, null, null));
        continue;
      }
      if (parents.contains(path)) {
        // Selected paths live below it, so it was a directory when selected.
        change(new FileChange(path, FileChange.Kind.CHANGED, "is no longer a directory"), warnings);
        skippedDirs.add(path);
        continue;
      }
      if ((rawMode & 06000) != 0 && fileType == S_IFREG) {
        warnings.add(path + ": setuid/setgid bits dropped");
      }
      if (fileType == S_IFLNK) {
        String target = symlinkTarget(base, path, file, warnings);
        if (target != null) {
          planned.add(new Planned(path, EntryType.SYMLINK, mode, mtime, 0, target, null));
        }
      } else if (fileType == S_IFREG) {
        planned.add(new Planned(path, EntryType.FILE, mode, mtime, (Long) attrs.get("size"), null, Stat.of(attrs)));
      } else {
        warnings.add(path + ": not a regular file, directory or symlink; skipped");
      }
    }
    return new Plan(base, planned, warnings);
  }

  /** Writes the planned stream: every file read (and hashed) now, its lstat checked again once read. */
  Result write(Plan plan, OutputStream out) throws IOException {
    List<FileEntry> entries = new ArrayList<>(plan.entries().size());
    List<String> warnings = new ArrayList<>(plan.warnings());
    Map<List<Object>, FileEntry> inodes = new HashMap<>();
    MessageDigest sha = options.fileDigests() ? Sha256.newDigest() : null;
    long written = 0;
    for (Planned p : plan.entries()) {
      String path = p.path();
      switch (p.type()) {
        case DIR, SYMLINK -> {
          written += p.writeHeader(out, block, p.type(), null);
          entries.add(p.entry(p.type(), null, null));
        }
        default -> {
          List<Object> inode = p.inode(options.hardlinks());
          FileEntry first = inode != null ? inodes.get(inode) : null;
          if (first != null) {
            written += p.writeHeader(out, block, EntryType.HARDLINK, first.path());
            entries.add(p.entry(EntryType.HARDLINK, first.sha256(), first.path()));
            continue;
          }
          long before = written;
          written +=
              writeFile(p, plan.root().resolve(path), sha, entries, warnings, out);
          if (written > before && inode != null) {
            inodes.put(inode, entries.get(entries.size() - 1));
          }
        }
      }
    }
    written += TarFormat.writeEnd(out, written);
    return new Result(entries, warnings, written);
  }

  /**
   * The target a symlink is stored with (an absolute one inside the root made relative), or null when it is skipped:
   * it leaves the root (a warning) or vanished (the change policy decides).
   */
  private String symlinkTarget(Path base, String path, Path file, List<String> warnings) throws IOException {
    String target;
    try {
      target = Files.readSymbolicLink(file).toString();
    } catch (NoSuchFileException e) {
      change(new FileChange(path, FileChange.Kind.VANISHED, "no longer exists"), warnings);
      return null;
    }
    String kept = target;
    if (target.startsWith("/")) {
      // An absolute target inside the root is kept as the equivalent relative one, so the set can
      // be unpacked anywhere and the extractor (which refuses absolute targets) accepts it.
      kept = relativeInside(base, path, target);
    }
    if (kept == null || !EntryNames.symlinkStaysInside(path, kept)) {
      warnings.add(path + ": symlink to '" + target + "' leaves the set's root; skipped");
      return null;
    }
    return kept;
  }

  private static String relativeInside(Path base, String linkPath, String target) {
    Path t = Path.of(target);
    if (!t.normalize().equals(t) || !t.startsWith(base)) {
      return null;
    }
    Path linkDir = Path.of(linkPath).getParent();
    Path rel = base.relativize(t);
    String s = (linkDir == null ? rel : linkDir.relativize(rel)).toString();
    return s.isEmpty() ? "." : s;
  }

  private long writeFile(
      Planned p, Path file, MessageDigest sha, List<FileEntry> entries, List<String> warnings, OutputStream out)
      throws IOException {
    String path = p.path();
    long size = p.size();
    ReadableByteChannel ch;
    try {
      // O_NOFOLLOW: a file swapped for a symlink after lstat is not followed.
      ch = opener.open(file);
    } catch (NoSuchFileException e) {
      change(new FileChange(path, FileChange.Kind.VANISHED, "no longer exists"), warnings);
      return 0;
    } catch (IOException e) {
      if (Files.isSymbolicLink(file)) {
        change(new FileChange(path, FileChange.Kind.CHANGED, "became a symlink"), warnings);
        return 0;
      }
      throw e;
    }
    long written = p.writeHeader(out, block, EntryType.FILE, null);
    if (sha != null) {
      sha.reset();
    }
    String problem = null;
    try (ch) {
      ByteBuffer bb = ByteBuffer.wrap(buffer);
      long remaining = size;
      while (remaining > 0) {
        bb.clear().limit((int) Math.min(buffer.length, remaining));
        int n = ch.read(bb);
        if (n < 0) {
          problem = "shrank from " + size + " to " + (size - remaining) + " bytes; zero-padded";
          Arrays.fill(buffer, (byte) 0);
          while (remaining > 0) {
            int z = (int) Math.min(buffer.length, remaining);
            if (sha != null) {
              sha.update(buffer, 0, z);
            }
            out.write(buffer, 0, z);
            remaining -= z;
          }
          break;
        }
        if (sha != null) {
          sha.update(buffer, 0, n);
        }
        out.write(buffer, 0, n);
        remaining -= n;
      }
      if (problem == null) {
        bb.clear().limit(1);
        if (ch.read(bb) > 0) {
          problem = "grew beyond " + size + " bytes; cut at " + size;
        }
      }
    }
    written += size + TarFormat.writePadding(out, size);
    if (problem == null) {
      problem = changedSince(file, p.stat());
    }
    entries.add(p.entry(EntryType.FILE, sha == null ? null : Sha256.hex(sha.digest()), null));
    if (problem != null) {
      change(new FileChange(path, FileChange.Kind.CHANGED, problem), warnings);
    }
    return written;
  }

  /** Why a file read since its lstat {@code before} no longer matches it, or null when it still does. */
  static String changedSince(Path file, Stat before) throws IOException {
    Stat after;
    try {
      after = Stat.of(Files.readAttributes(file, ATTRIBUTES, LinkOption.NOFOLLOW_LINKS));
    } catch (NoSuchFileException e) {
      return "removed while read; the copy is what was read";
    }
    if (!after.ino().equals(before.ino()) || !after.dev().equals(before.dev())) {
      return "replaced while read; the copy is the old file";
    }
    if (after.size() != before.size() || !after.mtime().equals(before.mtime())) {
      return "modified while read";
    }
    return null;
  }


  void change(FileChange change, List<String> warnings) throws FileChangedException {
    if (!options.changePolicy().tolerate(change)) {
      throw new FileChangedException(change);
    }
    warnings.add(change.describe());
  }

  private static boolean underSkipped(String path, Set<String> skipped) {
    if (skipped.isEmpty()) {
      return false;
    }
    for (String p = EntryNames.parent(path); p != null; p = EntryNames.parent(p)) {
      if (skipped.contains(p)) {
        return true;
      }
    }
    return false;
  }
}
