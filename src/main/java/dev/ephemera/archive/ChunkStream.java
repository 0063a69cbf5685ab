package dev.ephemera.archive;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdDecompressCtx;
import dev.ephemera.archive.ArchiveException.Reason;
import dev.ephemera.archive.Manifest.Chunk;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;

/**
 * The tar stream of a manifest, read from a {@link ChunkSource}: up to {@code window} chunks are
 * fetched, decompressed and verified ahead in parallel; a chunk's bytes are handed out only after
 * its sha256 matched. Memory: {@code window} chunks.
 *
 * <p>Chunks are decompressed into direct buffers that are reused: once the reader has moved past a chunk, its buffer
 * goes back to a small pool for a later chunk that fits. A restore then holds a window of buffers outside the Java heap
 * instead of one short-lived array per chunk that every young collection copies while it waits in the window, and a
 * large file's content goes from the chunk's buffer to write(2) as it is ({@link #lend}). The frames a fetch
 * reads into are recycled the same way (one spare per fetch thread) where the source supports it: a restore of 500 MB
 * otherwise allocates 400 MB of frame arrays that the JVM zeroes and its collections copy, and on a fresh JVM each
 * collection also touches new heap pages.
 *
 * <p>The stream is not hashed as a whole: every chunk's bytes matched the manifest's hash of them, and the manifest's
 * {@code tar_sha256} is the worker's sha256 of exactly those chunks in this order (it computes it at registration from
 * the stored chunks or while they arrive), so a second pass over the raw bytes (0.3-0.4 s of CPU per 500 MB) could not
 * find anything the chunk hashes let through.
 */
final class ChunkStream extends InputStream implements TarReader.Lender {
  private final List<Chunk> chunks;
  private final ChunkSource source;
  private final ExecutorService pool;
  private final int window;
  private final Limits limits;
  private final long deadlineNanos;
  private final Duration overall;
  private final ArrayDeque<CompletableFuture<Verified>> ahead = new ArrayDeque<>();
  /**
   * Direct buffers the reader is done with, for later chunks (bounded: the window plus the one being read). Off the
   * Java heap: a chunk is decompressed, hashed and written to its file from the same memory, which no collection
   * copies and the JDK writes without its own copy into a temporary direct buffer.
   */
  private final SizedPool<ByteBuffer> spare;
  /** Decompression contexts of fetches that finished, for the next ones; closed with the stream. */
  private final ConcurrentLinkedQueue<ZstdDecompressCtx> contexts = new ConcurrentLinkedQueue<>();
  private volatile boolean closed;
  /** Frame arrays a fetch is done with (decompressed and verified), for later fetches: one per fetch thread. */
  private final SizedPool<byte[]> spareFrames;
  private int nextToFetch;
  private ByteBuffer current;
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
    this.spare = SizedPool.direct(window + 1, 1 << 20);
    this.spareFrames = SizedPool.arrays(Math.max(1, fetchThreads), 1 << 20);
    fill();
  }

  /** A chunk that matched its hash: its stored (frame) size and its raw bytes, the first {@code length} of {@code raw}. */
  private record Verified(int frameLength, ByteBuffer raw, int length) {}

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
    ByteBuffer raw = spare.take(c.rawSize());
    long n;
    ZstdDecompressCtx ctx = context();
    try {
      n = ctx.decompressByteArrayToDirectByteBuffer(raw, 0, c.rawSize(), frame, 0, frameLength);
    } catch (RuntimeException e) {
      throw new ArchiveException(Reason.CORRUPT, c.sha256(), "chunk does not decompress: " + e.getMessage());
    } finally {
      release(ctx);
    }
    MessageDigest sha = Sha256.newDigest();
    sha.update(raw.duplicate().position(0).limit((int) Math.min(n, raw.capacity())));
    if (n != c.rawSize() || !Sha256.hex(sha.digest()).equals(c.sha256())) {
      throw new ArchiveException(Reason.HASH_MISMATCH, c.sha256(), "chunk content does not match its hash");
    }
    return new Verified(frameLength, raw, c.rawSize());
  }

  private ZstdDecompressCtx context() {
    ZstdDecompressCtx ctx = contexts.poll();
    return ctx != null ? ctx : new ZstdDecompressCtx();
  }

  /** Back to the idle contexts; once the stream is closed, closed instead (a fetch may finish after the stream). */
  private void release(ZstdDecompressCtx ctx) {
    contexts.offer(ctx);
    if (closed) {
      closeIdleContexts();
    }
  }

  private void closeIdleContexts() {
    for (ZstdDecompressCtx ctx; (ctx = contexts.poll()) != null; ) {
      ctx.close();
    }
  }

  private boolean advance() throws IOException {
    if (ahead.isEmpty()) {
      return false;
    }
    Verified next = Concurrency.await(ahead.removeFirst(), deadlineNanos, overall);
    if (current != null) {
      spare.give(current); // the reader is past it (a lent view lasts until the next read): nothing refers to it
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
    current.get(pos, b, off, n);
    pos += n;
    return n;
  }

  /**
   * The next bytes of the stream, at most {@code max} (at least one; null at its end), as a read-only view of the
   * chunk's own buffer: valid until the next read of this stream.
   */
  @Override
  public ByteBuffer lend(int max) throws IOException {
    if (max <= 0) {
      throw new IllegalArgumentException("max " + max);
    }
    while (pos == currentLength) {
      if (!advance()) {
        return null;
      }
    }
    int n = Math.min(max, currentLength - pos);
    ByteBuffer view = current.slice(pos, n).asReadOnlyBuffer();
    pos += n;
    return view;
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
    closed = true;
    ahead.forEach(f -> f.cancel(true));
    ahead.clear();
    closeIdleContexts();
  }
}
