package dev.ephemera.archive;

import com.github.luben.zstd.ZstdInputStream;
import dev.ephemera.archive.ArchiveException.Reason;
import dev.ephemera.archive.Manifest.EntryType;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.io.InputStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;

/**
 * Puts a set back on disk, safely (DESIGN.md §7).
 *
 * <pre>
 *  fetch (parallel, bounded window) ─▶ zstd ─▶ sha256 check ─┬─▶ SafeExtractor ─▶ staging dir
 *                                                           └─▶ tar sha256 (own thread)  │ all verified
 *                                                     target ◀── move into place ───────┘ (else staging deleted)
 * </pre>
 *
 * <p>Everything is extracted into a fresh staging directory next to the target (same file system, so
 * moves are renames). Only when every chunk, the whole tar stream's sha256 and every entry passed,
 * and the target was checked for pre-existing symlinks and conflicts, are entries moved into
 * position; a refused or failed restore leaves the target as it was.
 *
 * <p>Merging into an existing target: a missing entry is moved in whole; existing directories are
 * merged; an existing file or symlink at a file's place is replaced (rename never follows it); a
 * pre-existing symlink where the set has a directory, or a directory where the set has a file, is
 * refused. The target path itself is resolved once (the caller chose it); nothing inside it is
 * followed.
 */
public final class Restorer {

  /**
   * @param limits caps on entries, bytes and compression ratio
   * @param fetchThreads concurrent {@link ChunkSource#fetch} calls (they also decompress and verify)
   * @param window chunks fetched ahead of the extractor (memory: this many chunks)
   * @param deadline overall time a restore may take before it gives up
   */
  public record Options(Limits limits, int fetchThreads, int window, Duration deadline) {
    public Options {
      Objects.requireNonNull(limits, "limits");
      Objects.requireNonNull(deadline, "deadline");
      if (fetchThreads < 1 || window < 1) {
        throw new IllegalArgumentException("need at least one fetch thread and a window of one chunk");
      }
    }

    /** Default limits, 8 fetches, 16 chunks ahead, one hour. */
    public static Options defaults() {
      return new Options(Limits.DEFAULTS, 8, 16, Duration.ofHours(1));
    }
  }

  /**
   * What a restore or unpack did.
   *
   * @param target where the entries now are
   * @param tarSha256 sha256 of the tar stream read
   * @param tarSize its length
   * @param archiveSha256 sha256 of the compressed bytes read
   * @param archiveSize their length
   * @param entries entries extracted (implied directories included)
   * @param fileBytes bytes of file content written
   * @param warnings what was tolerated (setuid/setgid dropped, ...)
   * @param layout where each entry was in the tar stream (a restore's, for a {@link FilesCache}); null for an unpack
   */
  public record Result(
      Path target, String tarSha256, long tarSize, String archiveSha256, long archiveSize, long entries,
      long fileBytes, List<String> warnings, FilesCache.Layout layout) {}

  private final Options options;

  public Restorer(Options options) {
    this.options = Objects.requireNonNull(options, "options");
  }

  /**
   * Restores the set described by {@code manifest} into {@code target} (usually {@code
   * Path.of(manifest.root())}).
   *
   * @throws ArchiveException when a chunk, the stream or an entry is refused (target untouched)
   */
  public Result restore(Manifest manifest, ChunkSource source, Path target) throws IOException {
    long deadline = System.nanoTime() + options.deadline().toNanos();
    ExecutorService pool = Concurrency.pool("fetch", options.fetchThreads());
    try (ChunkStream chunks =
        new ChunkStream(
            manifest.chunks(), source, pool, options.fetchThreads(), options.window(), options.limits(),
            deadline, options.deadline())) {
      return extractAndCommit(
          chunks,
          target,
          true,
          () -> {
            // The extractor read the stream to its end (zero padding included), so every chunk was handed out, each
            // one verified against its hash: the stream is the one the worker computed the manifest's tar_sha256 from
            // (ChunkStream says why it is not hashed again).
            if (chunks.tarSize() != manifest.tarSize()) {
              throw new ArchiveException(Reason.HASH_MISMATCH, null,
                  "tar stream is " + chunks.tarSize() + " bytes, the manifest says " + manifest.tarSize());
            }
            return new String[] {manifest.tarSha256(), Long.toString(chunks.tarSize()), null,
                Long.toString(chunks.storedBytes())};
          });
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Unpacks a plain {@code .tar.zst} (concatenated zstd frames, such as a set's download link serves)
   * into {@code dir}, with the same checks as a restore except chunk hashes (there are none). Compare
   * {@link Result#tarSha256()} with the reported sha256 to check integrity.
   */
  public static Result unpack(InputStream tarZst, Path dir, Limits limits) throws IOException {
    DigestingInputStream compressed = new DigestingInputStream(new BufferedInputStream(tarZst, 1 << 16));
    InputStream zstd;
    try {
      zstd = new ZstdInputStream(compressed);
    } catch (IOException e) {
      throw new ArchiveException(Reason.CORRUPT, null, "not a zstd stream: " + e.getMessage());
    }
    InputStream ratioChecked =
        new java.io.FilterInputStream(zstd) {
          private long raw;

          @Override
          public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
          }

          @Override
          public int read(byte[] b, int off, int len) throws IOException {
            int n;
            try {
              n = in.read(b, off, len);
            } catch (ArchiveException e) {
              throw e;
            } catch (IOException e) {
              String m = String.valueOf(e.getMessage());
              throw new ArchiveException(
                  m.toLowerCase().contains("truncated") ? Reason.TRUNCATED : Reason.CORRUPT, null, "zstd: " + m);
            }
            if (n > 0) {
              raw += n;
              limits.checkRatio(raw, compressed.count());
            }
            return n;
          }
        };
    DigestingInputStream tar = new DigestingInputStream(ratioChecked);
    Options opts = new Options(limits, 1, 1, Duration.ofDays(365));
    return new Restorer(opts)
        .extractAndCommit(
            tar,
            dir,
            false,
            () -> {
              // The tar reader read to the end of the decompressed stream, so the compressed stream
              // was read to its end too.
              return new String[] {tar.sha256(), Long.toString(tar.count()), compressed.sha256(),
                  Long.toString(compressed.count())};
            });
  }

  /** Runs after extraction, before anything is moved: verifies and returns the stream digests. */
  @FunctionalInterface
  private interface Verification {
    String[] verify() throws IOException;
  }

  private Result extractAndCommit(InputStream tar, Path requestedTarget, boolean layout, Verification verification)
      throws IOException {
    Path target = resolveTarget(requestedTarget);
    Path parent = target.getParent();
    Files.createDirectories(parent);
    // Staging must be on the target's file system so every move is an atomic rename: next to the
    // target normally, inside it when the target is a mount point of its own.
    Path stagingParent =
        Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)
                && !Files.getFileStore(target).equals(Files.getFileStore(parent))
            ? target
            : parent;
    String stagingPrefix = "." + target.getFileName() + ".ephemera-staging-";
    // The staging name carries this process's id, so a later restore can tell the staging directory of a restore that
    // died (killed mid-way; its process is gone) from one in progress, and sweep it.
    sweepStale(stagingParent, stagingPrefix);
    Path staging =
        stagingParent.resolve(stagingPrefix + ProcessHandle.current().pid() + "-" + randomSuffix());
    Files.createDirectory(staging);
    try {
      SafeExtractor.Extraction x = new SafeExtractor(options.limits()).extract(tar, staging, layout);
      String[] digests = verification.verify();
      commit(staging, target, x.entries());
      return new Result(
          target, digests[0], Long.parseLong(digests[1]), digests[2], Long.parseLong(digests[3]),
          x.entries().size(), x.fileBytes(), x.warnings(), x.layout());
    } finally {
      deleteTree(staging);
    }
  }

  /** Deletes staging directories of this target whose restoring process no longer exists. */
  private static void sweepStale(Path stagingParent, String stagingPrefix) throws IOException {
    try (DirectoryStream<Path> entries =
        Files.newDirectoryStream(stagingParent, p -> p.getFileName().toString().startsWith(stagingPrefix))) {
      for (Path stale : entries) {
        String rest = stale.getFileName().toString().substring(stagingPrefix.length());
        int dash = rest.indexOf('-');
        long pid;
        try {
          pid = Long.parseLong(dash < 0 ? rest : rest.substring(0, dash));
        } catch (NumberFormatException e) {
          continue;
        }
        boolean alive = ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        if (!alive && Files.isDirectory(stale, LinkOption.NOFOLLOW_LINKS)) {
          deleteTree(stale);
        }
      }
    }
  }

  private static Path resolveTarget(Path requested) throws IOException {
    Path abs = requested.toAbsolutePath().normalize();
    if (Files.isSymbolicLink(abs)) {
      abs = abs.toRealPath();
    }
    if (Files.exists(abs, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(abs, LinkOption.NOFOLLOW_LINKS)) {
      throw new ArchiveException(Reason.CONFLICT, abs.toString(), "the restore target exists and is not a directory");
    }
    if (abs.getParent() == null) {
      throw new IllegalArgumentException("cannot restore onto the file system root");
    }
    return abs;
  }

  /** One move decided while planning; planning finishes (and may refuse) before any is done. */
  private record Move(Path from, Path to, boolean deleteExistingFile) {}

  private static void commit(Path staging, Path target, List<SafeExtractor.Extracted> entries) throws IOException {
    List<Move> moves = new ArrayList<>();
    if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      moves.add(new Move(staging, target, false));
    } else {
      plan(staging, target, "", moves);
    }
    for (Move m : moves) {
      if (m.deleteExistingFile()) {
        Files.delete(m.to());
      }
      Files.move(m.from(), m.to(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
    // Directories last, deepest first: their mtimes would move as children arrive, and a read-only
    // directory could not have been filled.
    List<SafeExtractor.Extracted> dirs = new ArrayList<>();
    for (SafeExtractor.Extracted e : entries) {
      if (e.type() == EntryType.DIR && e.explicit()) {
        dirs.add(e);
      }
    }
    dirs.sort(Comparator.comparingInt((SafeExtractor.Extracted e) -> EntryNames.parentDepth(e.path())).reversed());
    for (SafeExtractor.Extracted d : dirs) {
      Path p = target.resolve(d.path());
      if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        Files.setAttribute(p, "unix:mode", d.mode(), LinkOption.NOFOLLOW_LINKS);
        Files.setLastModifiedTime(p, FileTime.from(d.mtime()));
      }
    }
  }

  private static void plan(Path stagedDir, Path targetDir, String rel, List<Move> moves) throws IOException {
    List<Path> children;
    try (var s = Files.list(stagedDir)) {
      children = s.sorted().toList();
    }
    for (Path staged : children) {
      String name = staged.getFileName().toString();
      String childRel = rel.isEmpty() ? name : rel + "/" + name;
      Path existing = targetDir.resolve(name);
      BasicFileAttributes ex;
      try {
        ex = Files.readAttributes(existing, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException e) {
        moves.add(new Move(staged, existing, false));
        continue;
      }
      boolean stagedIsDir = Files.isDirectory(staged, LinkOption.NOFOLLOW_LINKS);
      if (stagedIsDir) {
        if (ex.isSymbolicLink()) {
          throw new ArchiveException(
              Reason.PRE_EXISTING_SYMLINK, childRel, "the target has a symlink where the set has a directory");
        } else if (ex.isDirectory()) {
          plan(staged, existing, childRel, moves);
        } else {
          moves.add(new Move(staged, existing, true));
        }
      } else if (ex.isDirectory()) {
        throw new ArchiveException(Reason.CONFLICT, childRel, "the target has a directory where the set has a file");
      } else {
        moves.add(new Move(staged, existing, false)); // a rename replaces a file or symlink without following it
      }
    }
  }

  private static String randomSuffix() {
    byte[] b = new byte[8];
    new SecureRandom().nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  /** Deletes a tree without following symlinks; missing is fine. */
  public static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(
        root,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
            // A read-only directory from the archive must become writable to be emptied.
            Files.setAttribute(dir, "unix:mode", 0700);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
            Files.delete(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
            if (exc != null) {
              throw exc;
            }
            Files.delete(dir);
            return FileVisitResult.CONTINUE;
          }
        });
  }
}
