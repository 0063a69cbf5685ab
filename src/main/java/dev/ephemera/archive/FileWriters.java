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
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
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

  /**
   * An array of at least {@code size} bytes (at most {@link SafeExtractor#POOLED_FILE_MAX}) to read a file's content
   * into for {@link #write}, which recycles it once the file is on disk. A restore of 500 MB of small files otherwise
   * allocates (and zeroes, and has the young collections copy) 500 MB of short-lived arrays.
   */
  byte[] buffer(int size) {
    if (size == 0) {
      return EMPTY;
    }
    int sizeClass = sizeClass(size);
    byte[] b = free[sizeClass].poll();
    if (b != null) {
      freeBytes.addAndGet(-b.length);
      return b;
    }
    return new byte[1 << (sizeClass + MIN_CLASS_LOG2)];
  }

  private static final byte[] EMPTY = new byte[0];
  /** Size classes: 4 KiB .. 1 MiB ({@link SafeExtractor#POOLED_FILE_MAX}), powers of two. */
  private static final int MIN_CLASS_LOG2 = 12;
  private static final int MAX_CLASS_LOG2 = 20;
  /** Recycled arrays kept at most (beyond: left to the collector). */
  private static final long MAX_FREE_BYTES = 16 << 20;

  @SuppressWarnings("unchecked")
  private final ConcurrentLinkedQueue<byte[]>[] free = new ConcurrentLinkedQueue[MAX_CLASS_LOG2 - MIN_CLASS_LOG2 + 1];
  private final AtomicLong freeBytes = new AtomicLong();

  {
    for (int i = 0; i < free.length; i++) {
      free[i] = new ConcurrentLinkedQueue<>();
    }
  }

  private static int sizeClass(int size) {
    int log2 = 32 - Integer.numberOfLeadingZeros(Math.max(size, 1 << MIN_CLASS_LOG2) - 1);
    if (log2 > MAX_CLASS_LOG2) {
      throw new IllegalArgumentException("a pooled file holds at most 1 MiB, not " + size + " bytes");
    }
    return log2 - MIN_CLASS_LOG2;
  }

  private void recycle(byte[] b) {
    if (Integer.bitCount(b.length) != 1 || b.length < 1 << MIN_CLASS_LOG2 || b.length > 1 << MAX_CLASS_LOG2) {
      return;
    }
    if (freeBytes.addAndGet(b.length) > MAX_FREE_BYTES) {
      freeBytes.addAndGet(-b.length);
      return;
    }
    free[Integer.numberOfTrailingZeros(b.length) - MIN_CLASS_LOG2].offer(b);
  }

  /**
   * Creates {@code dest} with the first {@code length} bytes of {@code content} (an array from {@link #buffer}, or any
   * array, which is then recycled if it fits a size class), then sets its mode and times; on a writer thread when
   * pooled. {@code content} is the writers' from here on.
   */
  void write(Path dest, byte[] content, int length, int mode, FileTime mtime, FileTime atime) throws IOException {
    rethrow();
    if (pool == null) {
      try {
        writeNow(dest, content, length, mode, mtime, atime);
      } finally {
        recycle(content);
      }
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
                writeNow(dest, content, length, mode, mtime, atime);
              }
            } catch (IOException e) {
              failure.compareAndSet(null, e);
            } catch (RuntimeException e) {
              failure.compareAndSet(null, new IOException("writing " + dest + " failed", e));
            } finally {
              recycle(content);
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

  static void writeNow(Path dest, byte[] content, int length, int mode, FileTime mtime, FileTime atime)
      throws IOException {
    try (SeekableByteChannel out = create(dest, mode)) {
      writeFully(out, ByteBuffer.wrap(content, 0, length));
    }
    finish(dest, mode, mtime, atime);
  }

  /** A new file (never an existing one, never through a symlink), created with its mode where the umask allows. */
  static SeekableByteChannel create(Path dest, int mode) throws IOException {
    return Files.newByteChannel(
        dest, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), attribute(mode & 0777));
  }

  /**
   * Largest piece handed to one {@code write(2)}. The kernel (6.x, ext4 with large folios) sizes the page-cache folios
   * it allocates for a write by the write's length, and on a virtual machine that hands free memory back to its host,
   * large free blocks are the ones the host must back again when first touched. Measured on the bench machine, writing
   * 500 MB of 2 MiB files into new files: 1.0-1.6 s of CPU written whole, 0.25-0.64 s in 64 KiB pieces (six
   * alternating runs). Once the small free blocks are used up the difference shrinks (copying a real tree: 1.8-1.9 s
   * whole, 0.5-1.5 s in 64 KiB pieces). GNU tar writes 10 KiB records. The extra system calls cost far less than either.
   */
  static final int WRITE_PIECE = 64 * 1024;

  static void writeFully(SeekableByteChannel out, ByteBuffer data) throws IOException {
    int end = data.limit();
    while (data.position() < end) {
      data.limit(Math.min(end, data.position() + WRITE_PIECE));
      while (data.hasRemaining()) {
        out.write(data);
      }
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
