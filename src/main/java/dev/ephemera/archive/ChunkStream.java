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
 */
final class ChunkStream extends InputStream {
  private final List<Chunk> chunks;
  private final ChunkSource source;
  private final ExecutorService pool;
  private final int window;
  private final Limits limits;
  private final long deadlineNanos;
  private final Duration overall;
  private final ArrayDeque<CompletableFuture<byte[][]>> ahead = new ArrayDeque<>();
  private int nextToFetch;
  private byte[] current = new byte[0];
  private int pos;
  private long rawSoFar;
  private long storedSoFar;

  ChunkStream(
      List<Chunk> chunks, ChunkSource source, ExecutorService pool, int window, Limits limits, long deadlineNanos,
      Duration overall) {
    this.chunks = chunks;
    this.source = source;
    this.pool = pool;
    this.window = window;
    this.limits = limits;
    this.deadlineNanos = deadlineNanos;
    this.overall = overall;
    fill();
  }

  private void fill() {
    while (ahead.size() < window && nextToFetch < chunks.size()) {
      Chunk c = chunks.get(nextToFetch++);
      ahead.addLast(CompletableFuture.supplyAsync(Concurrency.unchecked(() -> fetchAndVerify(c)), pool));
    }
  }

  /** Returns {frame, raw}. */
  private byte[][] fetchAndVerify(Chunk c) throws IOException {
    byte[] frame = source.fetch(c.sha256());
    if (frame == null) {
      throw new IOException("chunk " + c.sha256() + " is missing from the store");
    }
    long declared = Zstd.getFrameContentSize(frame);
    if (declared != c.rawSize()) {
      throw new ArchiveException(
          Reason.HASH_MISMATCH, c.sha256(), "frame declares " + declared + " bytes, manifest says " + c.rawSize());
    }
    byte[] raw;
    try {
      raw = Zstd.decompress(frame, c.rawSize());
    } catch (RuntimeException e) {
      throw new ArchiveException(Reason.CORRUPT, c.sha256(), "chunk does not decompress: " + e.getMessage());
    }
    if (raw.length != c.rawSize() || !Sha256.of(raw).equals(c.sha256())) {
      throw new ArchiveException(Reason.HASH_MISMATCH, c.sha256(), "chunk content does not match its hash");
    }
    return new byte[][] {frame, raw};
  }

  private boolean advance() throws IOException {
    if (ahead.isEmpty()) {
      return false;
    }
    byte[][] next = Concurrency.await(ahead.removeFirst(), deadlineNanos, overall);
    fill();
    storedSoFar += next[0].length;
    rawSoFar += next[1].length;
    limits.checkRatio(rawSoFar, storedSoFar);
    current = next[1];
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
    while (pos == current.length) {
      if (!advance()) {
        return -1;
      }
    }
    int n = Math.min(len, current.length - pos);
    System.arraycopy(current, pos, b, off, n);
    pos += n;
    return n;
  }

  long storedBytes() {
    return storedSoFar;
  }

  @Override
  public void close() {
    ahead.forEach(f -> f.cancel(true));
    ahead.clear();
  }
}
