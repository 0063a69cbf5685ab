package dev.ephemera.archive;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Writes the small files of an extraction on a few threads while {@link SafeExtractor} parses on: creating a file is
 * mostly kernel work, which then overlaps with hashing, decompressing and parsing. Every decision (names, links,
 * duplicates, limits) has been taken by the extractor before a file is handed over; a writer only creates a new file
 * ({@code O_EXCL}, never following anything) in a directory the extractor already made.
 *
 * <p>Memory: at most {@code maxBytes} of content waits for the writers. The first failure is kept and rethrown to the
 * extractor at its next hand-over or at {@link #finish()}; {@link #close()} waits until no writer touches the staging
 * directory any more, so the caller may delete it.
 */
final class FileWriters implements AutoCloseable {
  private static final int UMASK = umask();

  private final ExecutorService pool;
  private final Semaphore bytes;
  private final int maxBytes;
  private final AtomicReference<IOException> failure = new AtomicReference<>();

  FileWriters(int threads, int maxBytes) {
    this.pool = threads > 0 ? Concurrency.pool("write", threads) : null;
    this.maxBytes = maxBytes;
    this.bytes = new Semaphore(maxBytes);
  }

  /** Whether files are handed to writer threads (otherwise the caller writes them). */
  boolean pooled() {
    return pool != null;
  }

  /** Creates {@code dest} with {@code content}, then sets its mode and times; on a writer thread when pooled. */
  void write(Path dest, byte[] content, int mode, FileTime mtime, FileTime atime) throws IOException {
    rethrow();
    if (pool == null) {
      writeNow(dest, content, mode, mtime, atime);
      return;
    }
    int permits = Math.max(1, Math.min(content.length, maxBytes));
    try {
      bytes.acquire(permits);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted");
    }
    try {
      pool.execute(
          () -> {
            try {
              if (failure.get() == null) {
                writeNow(dest, content, mode, mtime, atime);
              }
            } catch (IOException e) {
              failure.compareAndSet(null, e);
            } catch (RuntimeException e) {
              failure.compareAndSet(null, new IOException("writing " + dest + " failed", e));
            } finally {
              bytes.release(permits);
            }
          });
    } catch (RuntimeException e) {
      bytes.release(permits);
      throw e;
    }
  }

  /** Waits until every file handed over so far is on disk (a hardlink to one of them is next). */
  void awaitWritten() throws IOException {
    if (pool != null) {
      try {
        bytes.acquire(maxBytes);
        bytes.release(maxBytes);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted");
      }
    }
    rethrow();
  }

  /** Waits for every write and rethrows the first failure. */
  void finish() throws IOException {
    awaitWritten();
  }

  private void rethrow() throws IOException {
    IOException e = failure.get();
    if (e != null) {
      throw e;
    }
  }

  /** Stops the writers and waits until none of them runs any more. */
  @Override
  public void close() throws IOException {
    if (pool == null) {
      return;
    }
    failure.compareAndSet(null, new IOException("extraction stopped")); // queued writes are skipped
    pool.shutdown();
    try {
      while (!pool.awaitTermination(1, TimeUnit.MINUTES)) {
        // a write stuck in the kernel: keep waiting, the staging directory must not be deleted under it
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while stopping the file writers");
    }
  }

  static void writeNow(Path dest, byte[] content, int mode, FileTime mtime, FileTime atime) throws IOException {
    try (SeekableByteChannel out = create(dest, mode)) {
      writeFully(out, ByteBuffer.wrap(content));
    }
    finish(dest, mode, mtime, atime);
  }

  /** A new file (never an existing one, never through a symlink), created with its mode where the umask allows. */
  static SeekableByteChannel create(Path dest, int mode) throws IOException {
    return Files.newByteChannel(
        dest, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), attribute(mode & 0777));
  }

  static void writeFully(SeekableByteChannel out, ByteBuffer data) throws IOException {
    while (data.hasRemaining()) {
      out.write(data);
    }
  }

  /**
   * The mode, unless the file already got it at creation (no umask bit in it, no sticky bit), and both times in one
   * call (setting only the mtime would read the atime first).
   */
  static void finish(Path dest, int mode, FileTime mtime, FileTime atime) throws IOException {
    if (UMASK < 0 || (mode & UMASK) != 0 || (mode & ~0777) != 0) {
      Files.setAttribute(dest, "unix:mode", mode);
    }
    Files.getFileAttributeView(dest, BasicFileAttributeView.class).setTimes(mtime, atime, null);
  }

  private static final FileAttribute<?>[] ATTRIBUTES = new FileAttribute<?>[01000];

  private static FileAttribute<?> attribute(int perms) {
    FileAttribute<?> a = ATTRIBUTES[perms];
    if (a == null) {
      Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
      PosixFilePermission[] all = PosixFilePermission.values(); // OWNER_READ .. OTHERS_EXECUTE, high bit first
      for (int i = 0; i < 9; i++) {
        if ((perms & (0400 >> i)) != 0) {
          set.add(all[i]);
        }
      }
      a = PosixFilePermissions.asFileAttribute(set);
      ATTRIBUTES[perms] = a; // a benign race: equal values
    }
    return a;
  }

  /** This process's umask from /proc (Linux), or -1 when unknown (then every mode is set explicitly). */
  private static int umask() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Umask:")) {
          return Integer.parseInt(line.substring(6).trim(), 8);
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux, or no /proc
    }
    return -1;
  }
}
