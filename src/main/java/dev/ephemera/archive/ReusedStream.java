package dev.ephemera.archive;

import dev.ephemera.archive.Manifest.Chunk;
import dev.ephemera.archive.Manifest.EntryType;
import dev.ephemera.archive.Manifest.FileEntry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The tar stream of a {@link TarWriter.Plan} laid out against the {@link FilesCache.Record} of the set last restored
 * into the same directory: the stream's bytes can be read from any position on (headers made again, files read at an
 * offset), and wherever the stream provably holds the same bytes as the restored set's, the restored set's chunks can
 * stand for them unread.
 *
 * <p>An entry is the same as the restored set's when the header this persist writes for it has the digest the restore
 * recorded (same name, type, size, mode, mtime, link target), for a file its ctime is older than the record, and it
 * sits at a place in the restored stream where the next entry (or the end marker) begins right after it. A run of such
 * entries, consecutive in both streams, is the same bytes in both, shifted. A chunk of the restored set whose bytes lie
 * inside a run is cut by FastCDC at the same place again when the chunker starts at its first byte (a cut depends only
 * on the bytes since the previous cut), so {@link #reusableAt} offers chunks only where the chunker stands at the
 * start of one: the chunks are exactly those a persist reading every file would make.
 *
 * <p>Files read are checked as {@link TarWriter} checks them; a file that changes while read, and anything else that
 * departs from the plan, throws {@link ReuseFailed}: the caller persists again without the record. The per-file
 * sha256 of an unread file is the restored set's (its manifest's); of a file read whole, computed while read; none
 * without file digests ({@link TarWriter.Options#fileDigests}), when the restored manifest's files are not needed.
 *
 * <p>Not thread-safe.
 */
public final class ReusedStream implements AutoCloseable {

  /** This persist cannot go on with the record (a file changed while read, a chunk is gone, ...): start over. */
  public static final class ReuseFailed extends IOException {
    public ReuseFailed(String message) {
      super(message);
    }
  }

  /** One entry of the new stream. */
  private static final class Laid {
    final TarWriter.Planned planned;
    final EntryType type;
    /** Hardlink entries: the path of the file they link to. */
    final String linkTo;
    final long offset;
    final int headerLength;
    final long end;
    /** Offset of the same bytes in the restored stream, or -1. */
    long oldOffset = -1;
    /** A file's sha256: the restored set's when unread, else computed as it is read (none without file digests). */
    String sha256;
    /** A file read whole, or the restored set's bytes unread: its entry is complete. */
    boolean whole;
    /** A file being read from its start: its bytes are counted (and hashed, with file digests) in order. */
    boolean reading;
    MessageDigest digest;
    long digested;

    Laid(TarWriter.Planned planned, EntryType type, String linkTo, long offset, int headerLength) {
      this.planned = planned;
      this.type = type;
      this.linkTo = linkTo;
      this.offset = offset;
      this.headerLength = headerLength;
      long size = type == EntryType.FILE ? planned.size() : 0;
      this.end = offset + headerLength + size + pad(size);
    }

    long size() {
      return type == EntryType.FILE ? planned.size() : 0;
    }
  }

  /** A stretch of the new stream that is the restored stream's bytes [start - shift, end - shift). */
  private record Run(long start, long end, long shift) {}

  /** The shortest shared stretch a {@link #pieces patch} copies from the restored set (shorter ones are sent). */
  static final int MIN_COPY = 512;

  private final TarWriter.Plan plan;
  private final String restoredSetId;
  private final List<Laid> laid = new ArrayList<>();
  private final List<Run> runs = new ArrayList<>();
  private final long total;
  private final long[] oldChunkStarts;
  private final List<Chunk> oldChunks;
  private final byte[] block = new byte[TarFormat.BLOCK];
  private final List<String> warnings;
  private final boolean fileDigests;
  private long matchedBytes;

  // reading state
  private long position;
  private int current; // index in laid of the entry holding position (laid.size(): the end marker)
  private byte[] header;
  private int headerOf = -1;
  private FileChannel channel;
  private int runCursor;
  private long bytesRead;

  /**
   * @param restored the restored set's manifest (its chunks, and with file digests its files' sha256); loaded when an
   *     entry first matches
   * @param options how the tar stream is written: hardlinks, and whether entries carry their files' sha256
   * @throws ReuseFailed when the record's chunks are not the restored set's
   */
  ReusedStream(
      TarWriter.Plan plan, FilesCache.Record record, FilesCache.RestoredManifest restored, TarWriter.Options options)
      throws IOException {
    boolean hardlinks = options.hardlinks();
    this.fileDigests = options.fileDigests();
    Map<String, String> oldSha256 = null;
    this.plan = plan;
    this.restoredSetId = record.setId();
    this.warnings = plan.warnings();
    this.oldChunks = record.chunks();
    List<FilesCache.Entry> old = record.layout().entries();
    Map<String, Integer> oldIndex = new HashMap<>(old.size() * 2);
    for (int i = 0; i < old.size(); i++) {
      oldIndex.putIfAbsent(old.get(i).path(), i);
    }
    MessageDigest sha = Sha256.newDigest();
    // headers are made only to be hashed here: straight into the digest (read() makes a header again if it is read)
    DigestOutputStream headerDigest = new DigestOutputStream(OutputStream.nullOutputStream(), sha);
    Map<List<Object>, String> firstOfInode = new HashMap<>();
    long offset = 0;
    for (TarWriter.Planned p : plan.entries()) {
      EntryType type = p.type();
      String linkTo = null;
      List<Object> inode = p.inode(hardlinks);
      if (inode != null) {
        String first = firstOfInode.putIfAbsent(inode, p.path());
        if (first != null) {
          type = EntryType.HARDLINK;
          linkTo = first;
        }
      }
      sha.reset();
      int headerLength = (int) p.writeHeader(headerDigest, block, type, linkTo);
      Laid l = new Laid(p, type, linkTo, offset, headerLength);
      Integer j = oldIndex.get(p.path());
      if (j != null) {
        FilesCache.Entry o = old.get(j);
        long oldEnd = j + 1 < old.size() ? old.get(j + 1).offset() : record.layout().endOffset();
        byte[] hash = Arrays.copyOf(sha.digest(), FilesCache.HEADER_HASH_BYTES);
        boolean same = Arrays.equals(hash, o.headerHash()) && oldEnd - o.offset() == l.end - l.offset;
        if (same && oldSha256 == null) {
          oldSha256 = verified(record, restored.load());
        }
        if (same && type == EntryType.FILE) {
          String oldSha = fileDigests ? oldSha256.get(p.path()) : null;
          FileTime ctime = p.stat().ctime();
          same = (oldSha != null || !fileDigests) && ctime.compareTo(record.writtenAt()) < 0;
          l.sha256 = same ? oldSha : null;
          l.whole = same;
        }
        if (same) {
          l.oldOffset = o.offset();
          matchedBytes += l.end - l.offset;
        }
      }
      laid.add(l);
      offset = l.end;
    }
    long endMarker = 2L * TarFormat.BLOCK;
    this.total = offset + endMarker + (TarFormat.RECORD - ((offset + endMarker) % TarFormat.RECORD)) % TarFormat.RECORD;
    // runs: consecutive matched entries whose old bytes are consecutive too
    Run open = null;
    for (Laid l : laid) {
      if (l.oldOffset < 0) {
        if (open != null) {
          runs.add(open);
          open = null;
        }
        continue;
      }
      long shift = l.offset - l.oldOffset;
      if (open != null && open.end() == l.offset && open.shift() == shift) {
        open = new Run(open.start(), l.end, shift);
      } else {
        if (open != null) {
          runs.add(open);
        }
        open = new Run(l.offset, l.end, shift);
      }
    }
    if (open != null) {
      runs.add(open);
    }
    oldChunkStarts = new long[oldChunks.size() + 1];
    for (int i = 0; i < oldChunks.size(); i++) {
      oldChunkStarts[i + 1] = oldChunkStarts[i] + oldChunks.get(i).rawSize();
    }
  }

  /** The restored set's file digests, once its manifest's chunks proved to be the record's. */
  private static Map<String, String> verified(FilesCache.Record record, FilesCache.Restored restored)
      throws ReuseFailed {
    List<String> recorded = record.chunks().stream().map(Chunk::sha256).toList();
    if (!recorded.equals(restored.chunks())) {
      throw new ReuseFailed("the record's chunks are not those of set " + record.setId());
    }
    return restored.fileSha256();
  }

  private static long pad(long size) {
    return (TarFormat.BLOCK - (size % TarFormat.BLOCK)) % TarFormat.BLOCK;
  }

  /** The directory the stream's paths are relative to. */
  java.nio.file.Path root() {
    return plan.root();
  }

  /** Length of the whole stream. */
  long size() {
    return total;
  }

  /** Bytes of the stream that are the restored set's (whether or not a chunk boundary lets them be skipped). */
  long matchedBytes() {
    return matchedBytes;
  }

  /** File content bytes read from disk so far. */
  long bytesRead() {
    return bytesRead;
  }

  /**
   * The restored set's chunks that are this stream's bytes from {@code at} on, in order, when the chunker stands at
   * {@code at} (a cut, or the stream's start): empty when {@code at} is not the start of one lying inside a run.
   * Positions must not decrease from call to call.
   */
  List<Chunk> reusableAt(long at) {
    while (runCursor < runs.size() && runs.get(runCursor).end() <= at) {
      runCursor++;
    }
    if (runCursor == runs.size() || runs.get(runCursor).start() > at) {
      return List.of();
    }
    Run run = runs.get(runCursor);
    long oldAt = at - run.shift();
    int c = Arrays.binarySearch(oldChunkStarts, 0, oldChunks.size(), oldAt);
    if (c < 0) {
      return List.of();
    }
    long oldEnd = run.end() - run.shift();
    List<Chunk> reuse = new ArrayList<>();
    while (c < oldChunks.size() && oldChunkStarts[c + 1] <= oldEnd) {
      reuse.add(oldChunks.get(c));
      c++;
    }
    return reuse;
  }

  /** The set last restored into the directory, whose stream the runs are shared with. */
  String restoredSetId() {
    return restoredSetId;
  }

  /**
   * The stream's bytes {@code [at, at + length)} as {@link ChunkPatch} pieces: copies of the restored stream where they
   * lie in a run (at least {@link #MIN_COPY} bytes), literals elsewhere. Any range may be asked, in any order.
   */
  List<ChunkPatch.Piece> pieces(long at, int length) {
    List<ChunkPatch.Piece> pieces = new ArrayList<>();
    long end = at + length;
    long literalFrom = at;
    // the first run ending past at
    int lo = 0;
    int hi = runs.size();
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (runs.get(mid).end() <= at) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    for (int r = lo; r < runs.size() && runs.get(r).start() < end; r++) {
      Run run = runs.get(r);
      long from = Math.max(at, run.start());
      long to = Math.min(end, run.end());
      if (to - from < MIN_COPY) {
        continue;
      }
      if (from > literalFrom) {
        pieces.add(new ChunkPatch.Piece(-1, (int) (from - literalFrom)));
      }
      pieces.add(new ChunkPatch.Piece(from - run.shift(), (int) (to - from)));
      literalFrom = to;
    }
    if (end > literalFrom) {
      pieces.add(new ChunkPatch.Piece(-1, (int) (end - literalFrom)));
    }
    return pieces;
  }

  /** Moves the read position forward to {@code to}. */
  void seek(long to) throws IOException {
    if (to < position) {
      throw new IllegalArgumentException("cannot seek back from " + position + " to " + to);
    }
    position = to;
    while (current < laid.size() && laid.get(current).end <= position) {
      leave();
    }
  }

  /** Reads the stream's next bytes into {@code b[off, off + len)}; -1 at its end. */
  int read(byte[] b, int off, int len) throws IOException {
    if (position >= total) {
      return -1;
    }
    int done = 0;
    while (done < len && position < total) {
      if (current == laid.size()) {
        int n = (int) Math.min(len - done, total - position);
        TarFormat.zero(b, off + done, n);
        done += n;
        position += n;
        continue;
      }
      Laid l = laid.get(current);
      long rel = position - l.offset;
      int n;
      if (rel < l.headerLength) {
        if (headerOf != current) {
          ByteArrayOutputStream h = new ByteArrayOutputStream(l.headerLength);
          l.planned.writeHeader(h, block, l.type, l.linkTo);
          header = h.toByteArray();
          headerOf = current;
        }
        n = (int) Math.min(len - done, l.headerLength - rel);
        System.arraycopy(header, (int) rel, b, off + done, n);
      } else if (rel < l.headerLength + l.size()) {
        int want = (int) Math.min(len - done, l.headerLength + l.size() - rel);
        n = readContent(l, rel - l.headerLength, b, off + done, want);
      } else {
        n = (int) Math.min(len - done, l.end - position);
        TarFormat.zero(b, off + done, n);
      }
      done += n;
      position += n;
      if (position == l.end) {
        leave();
      }
    }
    return done;
  }

  private int readContent(Laid l, long at, byte[] b, int off, int len) throws IOException {
    if (channel == null) {
      try {
        channel =
            FileChannel.open(plan.root().resolve(l.planned.path()), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException e) {
        throw new ReuseFailed(l.planned.path() + " vanished");
      }
      if (l.oldOffset < 0 && at == 0) {
        l.reading = true;
        l.digest = fileDigests ? Sha256.newDigest() : null;
      }
    }
    int n = channel.read(ByteBuffer.wrap(b, off, len), at);
    if (n <= 0) {
      throw new ReuseFailed(l.planned.path() + " shrank while read");
    }
    if (l.reading) {
      if (at != l.digested) {
        throw new IllegalStateException("not read in order: " + l.planned.path());
      }
      if (l.digest != null) {
        l.digest.update(b, off, n);
      }
      l.digested += n;
    }
    bytesRead += n;
    return n;
  }

  /** Done with the current entry: its file checked against its lstat once read, its digest taken. */
  private void leave() throws IOException {
    Laid l = laid.get(current);
    if (channel != null) {
      boolean grew = l.digested == l.size() && channel.read(ByteBuffer.allocate(1), l.size()) > 0;
      channel.close();
      channel = null;
      String problem =
          grew ? "grew while read" : TarWriter.changedSince(plan.root().resolve(l.planned.path()), l.planned.stat());
      if (problem != null) {
        throw new ReuseFailed(l.planned.path() + ": " + problem);
      }
    }
    if (l.reading) {
      if (l.digested == l.size()) {
        l.whole = true;
        l.sha256 = l.digest == null ? null : Sha256.hex(l.digest.digest());
      }
      l.reading = false;
      l.digest = null;
    }
    if (l.type == EntryType.FILE && l.size() == 0 && !l.whole) {
      l.whole = true;
      l.sha256 = fileDigests ? Sha256.hex(Sha256.newDigest().digest()) : null;
    }
    current++;
  }

  /** The entries written, for the manifest, once the whole stream was read or skipped. */
  TarWriter.Result finish() throws IOException {
    if (position != total) {
      throw new IllegalStateException("stream at " + position + " of " + total);
    }
    List<FileEntry> entries = new ArrayList<>(laid.size());
    Map<String, String> fileSha = new HashMap<>();
    for (Laid l : laid) {
      TarWriter.Planned p = l.planned;
      if (l.type == EntryType.FILE) {
        if (!l.whole) {
          // neither read whole nor the restored set's: cannot happen when only runs were skipped
          throw new IllegalStateException(p.path() + " was neither read whole nor reused");
        }
        fileSha.put(p.path(), l.sha256);
      }
      entries.add(p.entry(l.type, l.type == EntryType.HARDLINK ? fileSha.get(l.linkTo) : l.sha256, l.linkTo));
    }
    return new TarWriter.Result(entries, warnings, total);
  }

  @Override
  public void close() throws IOException {
    if (channel != null) {
      channel.close();
      channel = null;
    }
  }
}
