package dev.ephemera.archive;

import com.github.luben.zstd.Zstd;
import dev.ephemera.archive.ArchiveException.Reason;
import dev.ephemera.archive.Manifest.Chunk;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;

/**
 * The tar stream of a manifest, read from a {@link ChunkSource}: up to {@code window} chunks are
 * fetched, decompressed and verified ahead in parallel; a chunk's bytes are handed out only after
 * its sha256 matched. Memory: {@code window} chunks.
 *
 * <p>The arrays chunks are decompressed into are reused: once the reader has moved past a chunk, its array goes back
 * to a small pool for a later chunk that fits. A restore then allocates a window of long-lived arrays instead of one
 * short-lived array per chunk that every young collection copies while it waits in the window. The frames a fetch
 * reads into are recycled the same way (one spare per fetch thread) where the source supports it: a restore of 500 MB
 * otherwise allocates 400 MB of frame arrays that the JVM zeroes and its collections copy, and on a fresh JVM each
 * collection also touches new heap pages.
 *
 * <p>The stream is not hashed as a whole: every chunk's bytes matched the manifest's hash of them, and the manifest's
 * {@code tar_sha256} is the worker's sha256 of exactly those chunks in this order (it computes it at registration from
 * the stored chunks or while they arrive), so a second pass over the raw bytes (0.3-0.4 s of CPU per 500 MB) could not
 * find anything the chunk hashes let through.
 */
final class ChunkStream extends InputStream {
  private final List<Chunk> chunks;
  private final ChunkSource source;
  private final ExecutorService pool;
  private final int window;
  private final Limits limits;
  private final long deadlineNanos;
  private final Duration overall;
  private final ArrayDeque<CompletableFuture<Verified>> ahead = new ArrayDeque<>();
  /** Raw arrays the reader is done with, for later chunks (bounded: the window plus the one being read). */
  private final ArrayPool spare;
  /** Frame arrays a fetch is done with (decompressed and verified), for later fetches: one per fetch thread. */
  private final ArrayPool spareFrames;
  private int nextToFetch;
  private byte[] current = new byte[0];
  private int currentLength;
  private int pos;
  private long rawSoFar;
  private long storedSoFar;

  ChunkStream(
      List<Chunk> chunks, ChunkSource source, ExecutorService pool, int fetchThreads, int window, Limits limits,
      long deadlineNanos, Duration overall) {
    this.chunks = chunks;
    this.source = source;
    this.pool = pool;
    this.window = window;
    this.limits = limits;
    this.deadlineNanos = deadlineNanos;
    this.overall = overall;
    this.spare = new ArrayPool(window + 1, 1 << 20);
    this.spareFrames = new ArrayPool(Math.max(1, fetchThreads), 1 << 20);
    fill();
  }

  /** A chunk that matched its hash: its stored (frame) size and its raw bytes, the first {@code length} of {@code raw}. */
  private record Verified(int frameLength, byte[] raw, int length) {}

  private void fill() {
    while (ahead.size() < window && nextToFetch < chunks.size()) {
      Chunk c = chunks.get(nextToFetch++);
      ahead.addLast(CompletableFuture.supplyAsync(Concurrency.unchecked(() -> fetchAndVerify(c)), pool));
    }
  }

  private Verified fetchAndVerify(Chunk c) throws IOException {
    ChunkSource.Frame frame = source.fetch(c.sha256(), spareFrames::take);
    if (frame == null) {
      throw new IOException("chunk " + c.sha256() + " is missing from the store");
    }
    try {
      return verify(c, frame.bytes(), frame.length());
    } finally {
      spareFrames.give(frame.bytes()); // decompressed (or refused): nothing refers to it any more
    }
  }

  private Verified verify(Chunk c, byte[] frame, int frameLength) throws IOException {
    long declared = Zstd.getFrameContentSize(frame, 0, frameLength);
    if (declared != c.rawSize()) {
      throw new ArchiveException(
          Reason.HASH_MISMATCH, c.sha256(), "frame declares " + declared + " bytes, manifest says " + c.rawSize());
    }
    byte[] raw = spare.take(c.rawSize());
    long n;
    try {
      n = Zstd.decompressByteArray(raw, 0, c.rawSize(), frame, 0, frameLength);
    } catch (RuntimeException e) {
      throw new ArchiveException(Reason.CORRUPT, c.sha256(), "chunk does not decompress: " + e.getMessage());
    }
    if (Zstd.isError(n)) {
      throw new ArchiveException(Reason.CORRUPT, c.sha256(), "chunk does not decompress: " + Zstd.getErrorName(n));
    }
    if (n != c.rawSize() || !Sha256.of(raw, 0, c.rawSize()).equals(c.sha256())) {
      throw new ArchiveException(Reason.HASH_MISMATCH, c.sha256(), "chunk content does not match its hash");
    }
    return new Verified(frameLength, raw, c.rawSize());
  }

  private boolean advance() throws IOException {
    if (ahead.isEmpty()) {
      return false;
    }
    Verified next = Concurrency.await(ahead.removeFirst(), deadlineNanos, overall);
    if (current.length > 0) {
      spare.give(current); // the reader is past it: nothing refers to its bytes any more
    }
    fill();
    storedSoFar += next.frameLength();
    rawSoFar += next.length();
    limits.checkRatio(rawSoFar, storedSoFar);
    current = next.raw();
    currentLength = next.length();
    pos = 0;
    return true;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    while (pos == currentLength) {
      if (!advance()) {
        return -1;
      }
    }
    int n = Math.min(len, currentLength - pos);
    System.arraycopy(current, pos, b, off, n);
    pos += n;
    return n;
  }

  long storedBytes() {
    return storedSoFar;
  }

  /** Raw bytes handed out so far: the tar stream's length once the reader reached its end. */
  long tarSize() {
    return rawSoFar;
  }

  @Override
  public void close() {
    ahead.forEach(f -> f.cancel(true));
    ahead.clear();
  }
}
