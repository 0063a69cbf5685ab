package dev.ephemera.archive;

import com.github.luben.zstd.Zstd;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.BufferUnderflowException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A chunk sent as the bytes it shares with a set the job restored plus the bytes it does not: what a persist after a
 * small change uploads for a chunk that holds a changed file, instead of the whole frame. The chunk is a sequence of
 * pieces, each either a copy of {@code length} bytes of the base set's tar stream from {@code baseOffset} on, or the
 * next {@code length} bytes of the literals. The server rebuilds the raw chunk from the base set's stored chunks and
 * the literals, checks its sha256 against the chunk's name as it checks an uploaded frame, and stores one frame of it:
 * what is stored is exactly what a full upload stores.
 *
 * <p>Wire format (big-endian): magic {@code EPP1}; the base set id (a byte length, then ASCII); the raw size (int);
 * the piece count (int); per piece its base offset (long; -1 for literals) and length (int); then one zstd frame, with
 * content size, of all literals in order (absent when there are none).
 */
public record ChunkPatch(String base, int rawSize, List<Piece> pieces, byte[] literals) {
  private static final int MAGIC = 0x45505031; // "EPP1"
  /** More pieces than a chunk could usefully have (each shared run is an entry or more). */
  public static final int MAX_PIECES = 1 << 16;
  /**
   * The most chunks of the base stream one patch may copy from. A patch's copies lie where the new chunk's bytes were
   * in the restored stream, a few chunks at most; without a bound, a patch of many one-byte copies could make the
   * server fetch and decompress thousands of chunks for one request.
   */
  public static final int MAX_BASE_CHUNKS = 32;

  /** {@code length} bytes: a copy of the base stream's from {@code baseOffset}, or (baseOffset -1) literals. */
  public record Piece(long baseOffset, int length) {
    public Piece {
      if (length <= 0 || baseOffset < -1) {
        throw new IllegalArgumentException("bad piece " + baseOffset + "+" + length);
      }
    }

    public boolean literal() {
      return baseOffset < 0;
    }
  }

  /** Reads the base set's tar stream. */
  @FunctionalInterface
  public interface Base {
    /** Copies {@code length} bytes of the base stream from {@code offset} into {@code into[at, at + length)}. */
    void read(long offset, byte[] into, int at, int length) throws IOException;
  }

  /** Raw chunks by name. */
  @FunctionalInterface
  public interface RawChunks {
    byte[] raw(String sha256) throws IOException;
  }

  /**
   * The tar stream of a set whose chunks, in order, are {@code shas}, chunk {@code c} starting at {@code starts[c]}
   * ({@code starts[shas.length]} is the stream's size), their bytes from {@code chunks}. A copy past the stream's end,
   * and copies from more than {@link #MAX_BASE_CHUNKS} of its chunks, are refused as {@link
   * ArchiveException.Reason#CORRUPT}. One per patch: it counts the chunks copied from.
   */
  public static Base stream(String setId, String[] shas, long[] starts, RawChunks chunks) {
    if (starts.length != shas.length + 1) {
      throw new IllegalArgumentException(shas.length + " chunks, " + starts.length + " starts");
    }
    java.util.Set<Integer> touched = new java.util.HashSet<>();
    return (offset, into, at, length) -> {
      long size = starts[shas.length];
      if (offset + length > size) {
        throw new ArchiveException(
            ArchiveException.Reason.CORRUPT, null,
            "the patch copies bytes " + offset + "-" + (offset + length) + " of set " + setId + ", whose stream has "
                + size);
      }
      int c = java.util.Arrays.binarySearch(starts, 0, shas.length, offset);
      c = c >= 0 ? c : -c - 2;
      while (length > 0) {
        if (touched.add(c) && touched.size() > MAX_BASE_CHUNKS) {
          throw new ArchiveException(
              ArchiveException.Reason.CORRUPT, null,
              "the patch copies from more than " + MAX_BASE_CHUNKS + " chunks of set " + setId);
        }
        byte[] raw = chunks.raw(shas[c]);
        if (raw.length != starts[c + 1] - starts[c]) {
          throw new IOException("chunk " + shas[c] + " of set " + setId + " has " + raw.length + " bytes, not "
              + (starts[c + 1] - starts[c]));
        }
        int from = (int) (offset - starts[c]);
        int n = (int) Math.min(length, raw.length - from);
        System.arraycopy(raw, from, into, at, n);
        at += n;
        offset += n;
        length -= n;
        c++;
      }
    };
  }

  public ChunkPatch {
    Objects.requireNonNull(base, "base");
    pieces = List.copyOf(pieces);
    Objects.requireNonNull(literals, "literals");
  }

  /** The patch of the chunk {@code raw[0, length)} made of {@code pieces} (see {@code ReusedStream#pieces}). */
  public static ChunkPatch of(String base, byte[] raw, int length, List<Piece> pieces) {
    int literal = 0;
    int total = 0;
    for (Piece p : pieces) {
      literal += p.literal() ? p.length() : 0;
      total += p.length();
    }
    if (total != length) {
      throw new IllegalArgumentException("pieces of " + total + " bytes for a chunk of " + length);
    }
    byte[] literals = new byte[literal];
    int at = 0;
    int l = 0;
    for (Piece p : pieces) {
      if (p.literal()) {
        System.arraycopy(raw, at, literals, l, p.length());
        l += p.length();
      }
      at += p.length();
    }
    return new ChunkPatch(base, length, pieces, literals);
  }

  /** Bytes of the chunk that come from the base set. */
  public long copied() {
    return copied(pieces);
  }

  /** Bytes of {@code pieces} that are copies of the base set's. */
  public static long copied(List<Piece> pieces) {
    long copied = 0;
    for (Piece p : pieces) {
      copied += p.literal() ? 0 : p.length();
    }
    return copied;
  }

  /** The patch as sent, its literals compressed at {@code zstdLevel}. */
  public byte[] encode(int zstdLevel) {
    byte[] id = base.getBytes(StandardCharsets.US_ASCII);
    byte[] frame = literals.length == 0 ? new byte[0] : Zstd.compress(literals, zstdLevel);
    ByteBuffer out = ByteBuffer.allocate(4 + 1 + id.length + 8 + pieces.size() * 12 + frame.length);
    out.putInt(MAGIC).put((byte) id.length).put(id).putInt(rawSize).putInt(pieces.size());
    for (Piece p : pieces) {
      out.putLong(p.baseOffset()).putInt(p.length());
    }
    return out.put(frame).array();
  }

  /**
   * Reads a patch of the chunk {@code sha256}, refusing (with the reason) one that is not well formed: pieces that do
   * not add up to the raw size, literals that are not exactly one frame of the literal pieces' length, a raw size
   * beyond {@link ChunkFrames#MAX_RAW_SIZE}.
   */
  public static ChunkPatch decode(String sha256, byte[] body) throws ArchiveException {
    ByteBuffer in = ByteBuffer.wrap(body);
    try {
      if (in.getInt() != MAGIC) {
        throw corrupt(sha256, "not a chunk patch");
      }
      byte[] id = new byte[in.get() & 0xff];
      in.get(id);
      String base = new String(id, StandardCharsets.US_ASCII);
      int rawSize = in.getInt();
      int count = in.getInt();
      if (rawSize <= 0 || rawSize > ChunkFrames.MAX_RAW_SIZE) {
        throw corrupt(sha256, "raw size must be between 1 and " + ChunkFrames.MAX_RAW_SIZE + ", got " + rawSize);
      }
      if (count <= 0 || count > MAX_PIECES || count > rawSize) {
        throw corrupt(sha256, "piece count " + count + " out of range");
      }
      List<Piece> pieces = new ArrayList<>(count);
      long total = 0;
      long literal = 0;
      for (int i = 0; i < count; i++) {
        long offset = in.getLong();
        int length = in.getInt();
        if (length <= 0 || offset < -1 || (offset >= 0 && offset > Long.MAX_VALUE - length)) {
          throw corrupt(sha256, "piece " + i + " (" + offset + "+" + length + ") out of range");
        }
        pieces.add(new Piece(offset, length));
        total += length;
        literal += offset < 0 ? length : 0;
      }
      if (total != rawSize) {
        throw corrupt(sha256, "pieces add up to " + total + " bytes, not the raw size " + rawSize);
      }
      byte[] frame = new byte[in.remaining()];
      in.get(frame);
      return new ChunkPatch(base, rawSize, pieces, literals(sha256, frame, literal));
    } catch (BufferUnderflowException e) {
      throw corrupt(sha256, "patch ends early");
    }
  }

  private static byte[] literals(String sha256, byte[] frame, long expected) throws ArchiveException {
    if (expected == 0) {
      if (frame.length != 0) {
        throw corrupt(sha256, "literals sent for a patch without literal pieces");
      }
      return frame;
    }
    long size = ChunkFrames.contentSize("chunk " + sha256 + " patch: literals", frame);
    if (size != expected) {
      throw corrupt(sha256, "literals must be one zstd frame of " + expected + " bytes, not " + size);
    }
    try {
      byte[] raw = Zstd.decompress(frame, (int) size);
      if (raw.length != expected) {
        throw corrupt(sha256, "literals decompressed to " + raw.length + " bytes, not " + expected);
      }
      return raw;
    } catch (RuntimeException e) {
      throw corrupt(sha256, "corrupt literals: " + e.getMessage());
    }
  }

  /** The raw chunk: the pieces in order, copies read from {@code from}. */
  public byte[] apply(Base from) throws IOException {
    byte[] raw = new byte[rawSize];
    int at = 0;
    int literal = 0;
    for (Piece p : pieces) {
      if (p.literal()) {
        System.arraycopy(literals, literal, raw, at, p.length());
        literal += p.length();
      } else {
        from.read(p.baseOffset(), raw, at, p.length());
      }
      at += p.length();
    }
    return raw;
  }

  private static ArchiveException corrupt(String sha256, String why) {
    return new ArchiveException(ArchiveException.Reason.CORRUPT, null, "chunk " + sha256 + " patch: " + why);
  }
}
