package dev.ephemera.archive;

import static dev.ephemera.archive.Concurrency.await;
import static dev.ephemera.archive.Concurrency.unchecked;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import dev.ephemera.archive.Manifest.Chunk;
import dev.ephemera.archive.Manifest.EntryType;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * Persists a tree as a set (DESIGN.md §7): deterministic tar stream → FastCDC chunks → for each
 * chunk, sha256 of the raw bytes; the sink is asked in batches which chunks it already has, and only
 * the missing ones are compressed (one independent zstd frame each, with content size) and stored.
 *
 * <pre>
 *  caller thread    TarWriter: read files, sha256 per file
 *        │ bytes (a few 256 KiB buffers)
 *  chunker thread   FastCDC ─▶ chunk ─▶ batch: await sha256s ─▶ sink.present(batch) ─▶ ordered window
 *                     │ sha256 of each chunk: hash pool              │ missing only: zstd on the
 *                     │ tar sha256 (in order, unless the registering  │ compress pool, put on the
 *                     │ server computes it): digest thread            │
 *                     ▼                                               ▼ upload pool
 *  caller thread    manifest, from the window drained in stream order (frames → archive sha256
 *                   on its own thread)
 * </pre>
 *
 * <p>A persist through the files cache ({@link ReusedStream}) sends a new chunk that shares at least {@link
 * #MIN_PATCH_SHARE} of its bytes with the restored set as a {@link ChunkPatch} instead of a frame (only its literals
 * compressed, here), and the frame if the sink does not take the patch.
 *
 * <p>Memory is bounded by {@link Options#maxInFlightChunks} chunks of at most the maximum chunk size
 * (plus the chunker's buffer of two maximum chunks), however large the tree: with the defaults
 * (16 × 4 MiB worst case) a multi-GB tree persists within {@code -Xmx256m}.
 */
public final class ArchiveWriter {

  /**
   * @param chunking chunk size bounds
   * @param zstdLevel compression level of the stored frames (a chunk that looks already compressed gets at most
   *     level 2: see {@link Compressibility})
   * @param compressThreads threads hashing and compressing chunks
   * @param uploadThreads concurrent {@link ChunkSink#put} calls
   * @param maxInFlightChunks chunks held in memory at once (between the chunker and the manifest)
   * @param tar how the tar stream is written
   * @param streamDigests compute the stream digests here: {@code tar_sha256}, and {@code archive_sha256} when every
   *     frame passes through (a cold persist). Off where whoever holds the store computes both anyway (the worker
   *     does at registration, from what is stored, and fills them in): that saves a sha256 pass over the tar stream,
   *     one over the compressed stream and, for chunks repeated within the stream, compressing them a second time
   */
  public record Options(
      FastCdc.Params chunking,
      int zstdLevel,
      int compressThreads,
      int uploadThreads,
      int maxInFlightChunks,
      TarWriter.Options tar,
      boolean streamDigests) {

    public Options {
      Objects.requireNonNull(chunking, "chunking");
      Objects.requireNonNull(tar, "tar");
      if (compressThreads < 1 || uploadThreads < 1 || maxInFlightChunks < 2) {
        throw new IllegalArgumentException("need at least one thread of each kind and two chunks in flight");
      }
    }

    /** With the stream digests computed here. */
    public Options(
        FastCdc.Params chunking,
        int zstdLevel,
        int compressThreads,
        int uploadThreads,
        int maxInFlightChunks,
        TarWriter.Options tar) {
      this(chunking, zstdLevel, compressThreads, uploadThreads, maxInFlightChunks, tar, true);
    }

    /** Default chunking, zstd level 3, every core compressing, 8 uploads, 16 chunks in flight, stream digests on. */
    public static Options defaults() {
      int cores = Runtime.getRuntime().availableProcessors();
      return new Options(FastCdc.Params.DEFAULTS, 3, cores, 8, Math.max(16, 2 * cores), TarWriter.Options.DEFAULTS);
    }

    public Options withTar(TarWriter.Options tar) {
      return new Options(chunking, zstdLevel, compressThreads, uploadThreads, maxInFlightChunks, tar, streamDigests);
    }

    public Options withChunking(FastCdc.Params chunking) {
      return new Options(chunking, zstdLevel, compressThreads, uploadThreads, maxInFlightChunks, tar, streamDigests);
    }

    public Options withStreamDigests(boolean streamDigests) {
      return new Options(chunking, zstdLevel, compressThreads, uploadThreads, maxInFlightChunks, tar, streamDigests);
    }
  }

  /**
   * What a persist did.
   *
   * @param manifest the set's manifest
   * @param chunksUploaded chunks compressed and stored by this persist
   * @param bytesUploaded stored (compressed) bytes sent to the sink
   * @param chunksReused chunks the sink already had (or that repeated earlier in the stream)
   * @param fileBytesRead bytes of file content read from disk
   * @param filesCacheUsed whether chunks of the last restored set stood for files that were not read
   * @param chunksPatched of the chunks uploaded, those sent as a {@link ChunkPatch} against the restored set
   * @param bytesSent what the uploads sent: frames and patches (for a cold persist, {@code bytesUploaded})
   */
  public record Result(
      Manifest manifest, long chunksUploaded, long bytesUploaded, long chunksReused, long fileBytesRead,
      boolean filesCacheUsed, long chunksPatched, long bytesSent) {}

  /**
   * The least share of a chunk the restored set must hold for the chunk to be sent as a patch: below it the whole frame
   * is sent (little to save, and the server would fetch a base chunk for it).
   */
  static final double MIN_PATCH_SHARE = 0.25;

  /**
   * The least share of the stream that must be unchanged for the record to be used: below it every file is read
   * anyway, and the usual path overlaps reading with chunking on two threads.
   */
  static final double MIN_REUSED_SHARE = 0.1;

  /** How far past what a cut needs a persist reusing chunks reads at most (what lies past a cut may stay unread). */
  private static final int READ_STEP = 256 * 1024;

  /** The most chunks one {@code present} call asks about (a batch of chunks known by name only grows to this). */
  private static final int MAX_BATCH = 512;

  private final Options options;

  public ArchiveWriter(Options options) {
    this.options = Objects.requireNonNull(options, "options");
  }

  /**
   * Writes the set of {@code paths} under {@code root} to {@code sink}.
   *
   * @param root absolute directory the paths are relative to (recorded in the manifest)
   * @param paths selected relative paths (regular files, symlinks, empty directories)
   * @throws FileChangedException when a file changed and the tar options' policy does not tolerate it
   */
  public Result write(Path root, Collection<String> paths, ChunkSink sink) throws IOException {
    TarWriter tar = new TarWriter(options.tar());
    return write(tar, tar.plan(root, paths), sink);
  }

  /**
   * As {@link #write(Path, Collection, ChunkSink)}, reusing unread what {@code record} (of the set last restored into
   * {@code root}) proves unchanged: see {@link ReusedStream}. The manifest and chunks are the same as without it.
   *
   * @throws ReusedStream.ReuseFailed when the record turned out unusable midway (a file changed while read, the sink
   *     lost a chunk); nothing was registered: write again without it, with a new sink session
   */
  public Result write(
      Path root, Collection<String> paths, ChunkSink sink, FilesCache.Record record, FilesCache.RestoredManifest restored)
      throws IOException {
    TarWriter tar = new TarWriter(options.tar());
    TarWriter.Plan plan = tar.plan(root, paths);
    if (!record.root().equals(plan.root()) || options.streamDigests()) {
      return write(tar, plan, sink);
    }
    ReusedStream stream = new ReusedStream(plan, record, restored, options.tar());
    if (stream.matchedBytes() < MIN_REUSED_SHARE * stream.size()) {
      stream.close();
      return write(tar, plan, sink);
    }
    return write(stream, sink);
  }

  private Result write(TarWriter tarWriter, TarWriter.Plan plan, ChunkSink sink) throws IOException {
    ExecutorService chunker = Concurrency.pool("chunker", 1);
    try (Run run = new Run(sink)) {
      // Reading and hashing files (this thread) overlaps with chunking and the pipeline (chunker).
      Handoff handoff = new Handoff(8, 256 * 1024);
      Future<Boolean> chunking =
          chunker.submit(
              () -> {
                OutputStream cdc = new FastCdc(options.chunking()).chunkingStream(run::buffer, run::onChunk);
                boolean complete = handoff.drainTo(cdc);
                if (complete) {
                  cdc.close();
                }
                return complete;
              });
      TarWriter.Result tar;
      try (OutputStream out = handoff.output(chunking)) {
        tar = tarWriter.write(plan, out);
      } catch (IOException | RuntimeException | Error e) {
        handoff.abort();
        throw e;
      }
      await(chunking);
      return run.finish(plan.root(), tar, -1, false);
    } finally {
      chunker.shutdownNow();
    }
  }

  /**
   * Writes the stream {@code stream} lays out, reading only what its record cannot stand for: wherever the chunker
   * stands at the start of one of the restored set's chunks lying in unchanged entries, that chunk is taken by name
   * (the sink is asked whether it still has it) and the stream skipped past it; everything else is read and cut as
   * {@link #write} would, so the chunks are the same as a persist that reads every file makes.
   *
   * @throws ReusedStream.ReuseFailed when the record cannot be used after all (a file changed while read, the store
   *     lost a chunk): nothing was registered, and a persist without the record is the way on
   */
  Result write(ReusedStream stream, ChunkSink sink) throws IOException {
    if (options.streamDigests()) {
      throw new IllegalStateException("reusing chunks unread needs the stream digests left to the store's side");
    }
    FastCdc.Scan scan = new FastCdc(options.chunking()).new Scan();
    int max = options.chunking().maxSize();
    try (Run run = new Run(sink); stream) {
      byte[] buf = new byte[2 * max];
      int start = 0;
      int end = 0;
      long at = 0; // stream position of buf[start]
      long total = stream.size();
      while (at < total) {
        List<Chunk> reuse = stream.reusableAt(at);
        if (!reuse.isEmpty()) {
          for (Chunk c : reuse) {
            run.onKnownChunk(c.sha256(), c.rawSize());
            at += c.rawSize();
            if (end - start > c.rawSize()) {
              start += c.rawSize();
            } else {
              start = end = 0;
            }
          }
          if (start == end) {
            stream.seek(at);
          }
          continue;
        }
        // Read no further than the cut: what lies past it may be a reused chunk, never read at all.
        int want = (int) Math.min(max, total - at);
        if (start + want > buf.length) {
          System.arraycopy(buf, start, buf, 0, end - start);
          end -= start;
          start = 0;
        }
        scan.reset();
        int length = -1;
        while (length < 0) {
          if (end - start < want) {
            int n = stream.read(buf, end, Math.min(want - (end - start), READ_STEP));
            if (n < 0) {
              throw new IllegalStateException("stream ended at " + (at + end - start) + " of " + total);
            }
            end += n;
          }
          int have = Math.min(end - start, want);
          length = scan.cut(buf, start, have, have == total - at);
        }
        byte[] chunk = run.buffer(length);
        System.arraycopy(buf, start, chunk, 0, length);
        List<ChunkPatch.Piece> pieces = stream.pieces(at, length);
        start += length;
        at += length;
        run.onChunk(chunk, length, stream.restoredSetId(), pieces);
      }
      return run.finish(stream.root(), stream.finish(), stream.bytesRead(), true);
    }
  }

  /** A chunk between the chunker and the manifest. */
  private static final class Pending {
    /** The chunk is {@code raw[0, length)}; the array is recycled once the chunk is drained. */
    final byte[] raw;
    final int length;
    final CompletableFuture<String> hash;
    final CompletableFuture<Void> tarDigested;
    /** Where the chunk shares enough with the restored set: that set, and the chunk's pieces against it; else null. */
    String patchBase;
    List<ChunkPatch.Piece> patchPieces;
    CompletableFuture<Stored> stored;

    Pending(byte[] raw, int length, CompletableFuture<String> hash, CompletableFuture<Void> tarDigested) {
      this.raw = raw;
      this.length = length;
      this.hash = hash;
      this.tarDigested = tarDigested;
    }
  }

  /** A compression context and its scratch output array (null until first used). */
  private record Compressor(ZstdCompressCtx ctx, byte[] scratch) {}

  /**
   * A chunk's fate: its stored size, the frame when this run produced it and the archive digest still needs it, and
   * what uploading it sent (0 when it was not uploaded).
   */
  private record Stored(
      String sha256, long storedSize, ChunkSource.Frame frame, boolean uploaded, boolean patched, long sent) {
    static Stored reused(String sha256, long storedSize) {
      return new Stored(sha256, storedSize, null, false, false, 0);
    }
  }

  /** The most frames held at once: the window's, and the archive digest's queue when it is computed here. */
  private static int framesOutAtOnce(Options options) {
    return options.streamDigests() ? 2 * options.maxInFlightChunks() + 1 : options.maxInFlightChunks();
  }

  /**
   * One persist: owns the pools and the pipeline state; touched by one thread at a time (the
   * chunker thread while chunks flow, then the caller's thread for {@link #finish}).
   */
  private final class Run implements AutoCloseable {
    private final ChunkSink sink;
    private final ExecutorService cpu = Concurrency.pool("compress", options.compressThreads());
    // Hashing has its own threads: queued behind compressions it would stall the batch that waits
    // for it, and with it the next compressions (a pipeline bubble).
    private final ExecutorService hashing = Concurrency.pool("hash", options.compressThreads());
    private final ExecutorService io = Concurrency.pool("upload", options.uploadThreads());
    private final ExecutorService digest = Concurrency.pool("digest", 1);
    private final ExecutorService archiveDigest = Concurrency.pool("archive-digest", 1);
    /** Frames queued for the archive digest: bounded so they cannot pile up in memory. */
    private final ArrayDeque<CompletableFuture<Void>> archiveDigesting = new ArrayDeque<>();
    private final BlockingQueue<Compressor> contexts = new ArrayBlockingQueue<>(options.compressThreads());
    /**
     * Arrays that drained chunks leave behind, for the next chunks that fit (best fit, MiB granules): no MiB-sized array
     * is allocated per chunk (at -Xmx256m that garbage cost a persist over a second of collections), and the spares are
     * about the size chunks are (1 MiB on average), not all of the maximum size (4 MiB), which the heap holds throughout.
     */
    private final SizedPool<byte[]> rawBuffers = SizedPool.arrays(options.maxInFlightChunks() + 2, 1 << 20);
    /**
     * Arrays frames are compressed into, back once the frame is stored (and digested, when the archive digest is
     * computed here): a persist of 540 MB otherwise allocated 400 MB of frame arrays (JFR) that the young collections
     * went through. It keeps as many spares as can be out at once, so none is dropped only to be allocated again: the
     * frames of the window's chunks, plus, while the archive digest is computed here, those queued for it (at most one
     * more than the window; see {@link #drainHead}).
     */
    private final SizedPool<byte[]> frames = SizedPool.arrays(framesOutAtOnce(options), 1 << 20);
    private final MessageDigest tarSha = Sha256.newDigest();
    private final MessageDigest archiveSha = Sha256.newDigest();
    private final int batchSize = Math.max(1, options.maxInFlightChunks() / 2);
    private final List<Pending> batch = new ArrayList<>();
    /**
     * Chunks in {@link #batch} and {@link #window} that hold their bytes: what {@link Options#maxInFlightChunks} bounds.
     * A chunk known by name only ({@link #onKnownChunk}) holds nothing, so a run of them is not throttled to a present
     * round trip per half window (a persist through the files cache spent 2 of its 3 s waiting on those).
     */
    private int held;
    private int heldInBatch;
    /** Stream position of the first chunk of {@link #batch}. */
    private long batchStart;
    private final ArrayDeque<Pending> window = new ArrayDeque<>();
    /**
     * Stored sizes of the chunks this run is storing or stored, so a repeat in the stream is not
     * stored twice. Sizes only: holding the frames here would keep the whole archive in memory.
     */
    private final Map<String, CompletableFuture<Long>> ours = new ConcurrentHashMap<>();
    private final List<Chunk> chunks = new ArrayList<>();
    /** Written by the chunker thread, read when deciding: a hint, so volatile is enough. */
    private volatile boolean archiveDigestComplete = options.streamDigests();
    private long uploaded;
    private long uploadedBytes;
    private long reused;
    private long patched;
    private long sent;

    Run(ChunkSink sink) {
      this.sink = Objects.requireNonNull(sink, "sink");
      for (int i = 0; i < options.compressThreads(); i++) {
        ZstdCompressCtx ctx = new ZstdCompressCtx();
        ctx.setLevel(options.zstdLevel());
        ctx.setContentSize(true);
        ctx.setChecksum(false);
        contexts.add(new Compressor(ctx, null));
      }
    }

    /** An array for the next chunk of {@code length} bytes: a recycled one when there is one. */
    byte[] buffer(int length) {
      int max = options.chunking().maxSize();
      if (length > max) {
        return new byte[length];
      }
      return rawBuffers.take(length);
    }

    void onChunk(byte[] raw, int length) throws IOException {
      add(pending(raw, length));
    }

    /**
     * As {@link #onChunk(byte[], int)}, a chunk the restored set {@code base} holds {@code pieces} of: sent as a patch
     * when they are at least {@link #MIN_PATCH_SHARE} of it.
     */
    void onChunk(byte[] raw, int length, String base, List<ChunkPatch.Piece> pieces) throws IOException {
      Pending p = pending(raw, length);
      if (ChunkPatch.copied(pieces) >= MIN_PATCH_SHARE * length) {
        p.patchBase = base;
        p.patchPieces = pieces;
      }
      add(p);
    }

    /** A chunk of bytes read: its sha256 (and its share of the tar digest, when computed here) under way. */
    private Pending pending(byte[] raw, int length) {
      var hash = CompletableFuture.supplyAsync(() -> Sha256.of(raw, 0, length), hashing);
      var tarDigested =
          options.streamDigests()
              ? CompletableFuture.runAsync(() -> tarSha.update(raw, 0, length), digest)
              : CompletableFuture.<Void>completedFuture(null);
      return new Pending(raw, length, hash, tarDigested);
    }

    /** A chunk known by name only (its bytes unread): the sink must still have it. */
    void onKnownChunk(String sha256, int length) throws IOException {
      add(new Pending(null, length, CompletableFuture.completedFuture(sha256), CompletableFuture.completedFuture(null)));
    }

    private void add(Pending pending) throws IOException {
      batch.add(pending);
      if (pending.raw != null) {
        held++;
        heldInBatch++;
      }
      if (heldInBatch >= batchSize || batch.size() >= MAX_BATCH) {
        flushBatch();
      }
      while (held >= options.maxInFlightChunks()) {
        if (heldInBatch > 0) {
          flushBatch();
        } else {
          drainHead();
        }
      }
      while (!window.isEmpty() && window.peekFirst().stored.isDone()) {
        drainHead();
      }
    }

    /**
     * Hash first, then ask the sink once for the whole batch, then compress and store the rest. All
     * of it runs asynchronously: the chunker thread goes on cutting chunks while hashes are computed
     * and the sink answers (one round trip per batch, overlapped with everything else).
     */
    private void flushBatch() {
      List<Pending> pending = List.copyOf(batch);
      long first = batchStart;
      batchStart += pending.size();
      batch.clear();
      heldInBatch = 0;
      CompletableFuture<?>[] hashes = pending.stream().map(p -> p.hash).toArray(CompletableFuture[]::new);
      CompletableFuture<Map<String, Long>> present =
          CompletableFuture.allOf(hashes)
              .thenApplyAsync(
                  unused -> {
                    Set<String> ask = new LinkedHashSet<>();
                    List<String> order = new ArrayList<>(pending.size());
                    for (Pending p : pending) {
                      order.add(p.hash.join());
                      if (!ours.containsKey(p.hash.join())) {
                        ask.add(p.hash.join());
                      }
                    }
                    try {
                      return sink.present(ask, first, order);
                    } catch (IOException e) {
                      throw new java.io.UncheckedIOException(e);
                    }
                  },
                  io);
      for (Pending p : pending) {
        p.stored = present.thenCompose(map -> decide(p, p.hash.join(), map));
        window.addLast(p);
      }
    }

    /** Runs once the sink answered; several batches may be deciding at once, hence {@link #ours}. */
    private CompletableFuture<Stored> decide(Pending p, String sha, Map<String, Long> present) {
      CompletableFuture<Long> claim = new CompletableFuture<>();
      CompletableFuture<Long> mine = ours.get(sha);
      if (mine == null && present.containsKey(sha)) {
        return CompletableFuture.completedFuture(Stored.reused(sha, present.get(sha)));
      }
      if (p.raw == null) {
        if (mine != null) {
          return mine.thenApply(size -> Stored.reused(sha, size));
        }
        return CompletableFuture.failedFuture(
            new ReusedStream.ReuseFailed("the store no longer has chunk " + sha + " of the restored set"));
      }
      if (mine == null) {
        mine = ours.putIfAbsent(sha, claim);
      }
      if (mine != null) {
        // Stored (or being stored) by this run already: never store twice. The frame is made again
        // only while the archive digest can still be computed here.
        if (!archiveDigestComplete) {
          return mine.thenApply(size -> Stored.reused(sha, size));
        }
        return mine.thenCombine(
            CompletableFuture.supplyAsync(unchecked(() -> compress(p.raw, p.length)), cpu),
            (size, frame) -> new Stored(sha, size, frame, false, false, 0));
      }
      CompletableFuture<Stored> stored = p.patchBase == null ? putFrame(p, sha) : putPatch(p, sha);
      stored.whenComplete(
          (s, e) -> {
            if (e != null) {
              claim.completeExceptionally(e);
            } else {
              claim.complete(s.storedSize());
            }
          });
      return stored;
    }

    /**
     * The chunk sent as a patch against the restored set (literals compressed on the compress pool); the whole frame
     * when the sink does not take it.
     */
    private CompletableFuture<Stored> putPatch(Pending p, String sha) {
      return CompletableFuture.supplyAsync(
              () -> ChunkPatch.of(p.patchBase, p.raw, p.length, p.patchPieces).encode(options.zstdLevel()), cpu)
          .thenApplyAsync(
              body -> {
                try {
                  long size = sink.putPatch(sha, body, p.length);
                  return size < 0 ? null : new Stored(sha, size, null, true, true, body.length);
                } catch (IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              },
              io)
          .thenCompose(s -> s != null ? CompletableFuture.completedFuture(s) : putFrame(p, sha));
    }

    /** The chunk compressed (on the compress pool) and stored (on the upload pool). */
    private CompletableFuture<Stored> putFrame(Pending p, String sha) {
      return CompletableFuture.supplyAsync(unchecked(() -> compress(p.raw, p.length)), cpu)
          .thenApplyAsync(
              frame -> {
                try {
                  sink.put(sha, frame.bytes(), frame.length(), p.length);
                } catch (IOException e) {
                  frames.give(frame.bytes());
                  throw new java.io.UncheckedIOException(e);
                }
                // The frame is kept until drained only for the archive digest.
                if (archiveDigestComplete) {
                  return new Stored(sha, frame.length(), frame, true, false, frame.length());
                }
                frames.give(frame.bytes());
                return new Stored(sha, frame.length(), null, true, false, frame.length());
              },
              io);
    }

    /**
     * One frame of {@code raw[0, length)}: compressed into the context's scratch array (sized for the largest chunk,
     * allocated once), then copied into an array from {@link #frames}, which the caller gives back.
     */
    private ChunkSource.Frame compress(byte[] raw, int length) throws IOException {
      Compressor c;
      try {
        c = contexts.take();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted");
      }
      try {
        int bound = (int) Zstd.compressBound(length);
        if (c.scratch() == null || c.scratch().length < bound) {
          c = new Compressor(c.ctx(), new byte[Math.max(bound, (int) Zstd.compressBound(options.chunking().maxSize()))]);
        }
        // an already compressed chunk gets a cheaper level (see Compressibility): same size, twice the speed
        c.ctx().setLevel(Compressibility.level(raw, length, options.zstdLevel()));
        int n = c.ctx().compressByteArray(c.scratch(), 0, c.scratch().length, raw, 0, length);
        byte[] frame = frames.take(n);
        System.arraycopy(c.scratch(), 0, frame, 0, n);
        return new ChunkSource.Frame(frame, n);
      } finally {
        contexts.add(c);
      }
    }

    /** Consumes the oldest chunk in stream order (the archive digest needs the order). */
    private void drainHead() throws IOException {
      Pending p = window.removeFirst();
      if (p.raw != null) {
        held--;
      }
      Stored s = await(p.stored);
      await(p.tarDigested);
      chunks.add(new Chunk(s.sha256(), p.length, s.storedSize()));
      // Hashed, digested, compressed and stored: nothing reads the array any more.
      if (p.raw != null && p.raw.length <= options.chunking().maxSize()) {
        rawBuffers.give(p.raw);
      }
      if (s.frame() == null) {
        archiveDigestComplete = false;
      } else if (archiveDigestComplete) {
        // In stream order on a single thread, off the chunker thread.
        ChunkSource.Frame frame = s.frame();
        archiveDigesting.addLast(
            CompletableFuture.runAsync(
                () -> {
                  archiveSha.update(frame.bytes(), 0, frame.length());
                  frames.give(frame.bytes());
                },
                archiveDigest));
        while (archiveDigesting.size() > options.maxInFlightChunks()
            || (!archiveDigesting.isEmpty() && archiveDigesting.peekFirst().isDone())) {
          await(archiveDigesting.removeFirst());
        }
      }
      if (s.uploaded()) {
        uploaded++;
        uploadedBytes += s.storedSize();
        patched += s.patched() ? 1 : 0;
        sent += s.sent();
      } else {
        reused++;
      }
    }

    /** @param fileBytesRead file content read, or -1: all of it (every file was read) */
    Result finish(Path root, TarWriter.Result tar, long fileBytesRead, boolean filesCacheUsed) throws IOException {
      if (!batch.isEmpty()) {
        flushBatch();
      }
      while (!window.isEmpty()) {
        drainHead();
      }
      await(CompletableFuture.runAsync(() -> {}, digest)); // every tar digest update has run
      while (!archiveDigesting.isEmpty()) {
        await(archiveDigesting.removeFirst());
      }
      long tarSize = 0;
      long archiveSize = 0;
      for (Chunk c : chunks) {
        tarSize += c.rawSize();
        archiveSize += c.storedSize();
      }
      if (tarSize != tar.bytesWritten()) {
        throw new IllegalStateException("chunked " + tarSize + " bytes of a " + tar.bytesWritten() + "-byte tar stream");
      }
      long fileCount = tar.entries().stream().filter(e -> e.type() != EntryType.DIR).count();
      Manifest manifest =
          new Manifest(
              Manifest.VERSION,
              root.toString(),
              chunks,
              tar.entries(),
              options.streamDigests() ? Sha256.hex(tarSha.digest()) : null,
              tarSize,
              archiveDigestComplete ? Sha256.hex(archiveSha.digest()) : null,
              archiveSize,
              fileCount,
              tar.warnings());
      long read = fileBytesRead;
      if (read < 0) {
        read = tar.entries().stream().filter(e -> e.type() == EntryType.FILE).mapToLong(Manifest.FileEntry::size).sum();
      }
      return new Result(manifest, uploaded, uploadedBytes, reused, read, filesCacheUsed, patched, sent);
    }

    @Override
    public void close() {
      cpu.shutdownNow();
      hashing.shutdownNow();
      io.shutdownNow();
      digest.shutdownNow();
      archiveDigest.shutdownNow();
      // Contexts still in use belong to tasks being interrupted; those are reclaimed by the GC.
      Compressor c;
      while ((c = contexts.poll()) != null) {
        c.ctx().close();
      }
    }
  }
}
