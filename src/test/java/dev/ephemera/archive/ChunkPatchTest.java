package dev.ephemera.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ephemera.archive.ChunkPatch.Piece;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChunkPatchTest {
  private static final String SET = "01J0000000000000000000BASE";

  /** A base stream of three chunks (10, 20 and 30 bytes of distinct values) and a reader over it. */
  private static final byte[][] CHUNKS = {bytes(0, 10), bytes(10, 20), bytes(30, 30)};

  private static final Map<String, byte[]> BY_SHA =
      Map.of(Sha256.of(CHUNKS[0]), CHUNKS[0], Sha256.of(CHUNKS[1]), CHUNKS[1], Sha256.of(CHUNKS[2]), CHUNKS[2]);

  private static ChunkPatch.Base base() {
    String[] shas = {Sha256.of(CHUNKS[0]), Sha256.of(CHUNKS[1]), Sha256.of(CHUNKS[2])};
    return ChunkPatch.stream(SET, shas, new long[] {0, 10, 30, 60}, BY_SHA::get);
  }

  private static byte[] bytes(int from, int n) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (from + i);
    }
    return b;
  }

  @Test
  void aPatchRebuildsItsChunkFromCopiesAcrossBaseChunksAndLiterals() throws Exception {
    // base bytes 5..34 (across all three chunks), "xyz", base bytes 50..59
    byte[] chunk = new byte[30 + 3 + 10];
    System.arraycopy(bytes(5, 30), 0, chunk, 0, 30);
    chunk[30] = 'x';
    chunk[31] = 'y';
    chunk[32] = 'z';
    System.arraycopy(bytes(50, 10), 0, chunk, 33, 10);
    List<Piece> pieces = List.of(new Piece(5, 30), new Piece(-1, 3), new Piece(50, 10));

    ChunkPatch patch = ChunkPatch.of(SET, chunk, chunk.length, pieces);
    ChunkPatch decoded = ChunkPatch.decode(Sha256.of(chunk), patch.encode(3));

    assertThat(decoded.base()).isEqualTo(SET);
    assertThat(decoded.pieces()).isEqualTo(pieces);
    assertThat(decoded.copied()).isEqualTo(40);
    assertThat(decoded.apply(base())).isEqualTo(chunk);
  }

  @Test
  void aPatchOfCopiesOnlySendsNoLiterals() throws Exception {
    byte[] chunk = bytes(0, 60);
    byte[] body = ChunkPatch.of(SET, chunk, 60, List.of(new Piece(0, 60))).encode(3);
    assertThat(body.length).isLessThan(60);
    assertThat(ChunkPatch.decode(Sha256.of(chunk), body).apply(base())).isEqualTo(chunk);
  }

  @Test
  void aRandomChunkSurvivesTheWire() throws Exception {
    Random r = new Random(7);
    byte[] chunk = new byte[200_000];
    r.nextBytes(chunk);
    ChunkPatch decoded =
        ChunkPatch.decode("x", ChunkPatch.of(SET, chunk, chunk.length, List.of(new Piece(-1, chunk.length))).encode(3));
    assertThat(decoded.apply((o, into, at, n) -> {
      throw new AssertionError("no copies");
    })).isEqualTo(chunk);
  }

  @Test
  void aCopyPastTheBaseStreamIsRefused() {
    ChunkPatch patch = new ChunkPatch(SET, 20, List.of(new Piece(50, 20)), new byte[0]);
    assertThatThrownBy(() -> patch.apply(base()))
        .isInstanceOf(ArchiveException.class)
        .hasMessageContaining("copies bytes 50-70 of set " + SET + ", whose stream has 60");
  }

  @Test
  void aPatchCopyingFromTooManyBaseChunksIsRefusedBeforeItFetchesThem() {
    int n = ChunkPatch.MAX_BASE_CHUNKS + 5;
    String[] shas = new String[n];
    long[] starts = new long[n + 1];
    List<Piece> pieces = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) {
      shas[i] = "chunk" + i;
      starts[i + 1] = starts[i] + 100;
      pieces.add(new Piece(starts[i], 1)); // one byte of every chunk
    }
    java.util.concurrent.atomic.AtomicInteger fetched = new java.util.concurrent.atomic.AtomicInteger();
    ChunkPatch.Base stream =
        ChunkPatch.stream(SET, shas, starts, sha -> {
          fetched.incrementAndGet();
          return new byte[100];
        });
    ChunkPatch patch = new ChunkPatch(SET, n, pieces, new byte[0]);
    assertThatThrownBy(() -> patch.apply(stream))
        .isInstanceOf(ArchiveException.class)
        .hasMessageContaining("copies from more than " + ChunkPatch.MAX_BASE_CHUNKS + " chunks of set " + SET);
    assertThat(fetched).hasValue(ChunkPatch.MAX_BASE_CHUNKS);
  }

  /** A body with the given raw size, pieces and trailing bytes, bypassing the encoder's checks. */
  private static byte[] body(int rawSize, long[][] pieces, byte[] tail) {
    byte[] id = SET.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    ByteBuffer b = ByteBuffer.allocate(4 + 1 + id.length + 8 + 12 * pieces.length + tail.length);
    b.putInt(0x45505031).put((byte) id.length).put(id).putInt(rawSize).putInt(pieces.length);
    for (long[] p : pieces) {
      b.putLong(p[0]).putInt((int) p[1]);
    }
    return b.put(tail).array();
  }

  @Test
  void malformedPatchesAreRefusedWithTheReason() {
    byte[] literal = com.github.luben.zstd.Zstd.compress(new byte[5]);
    assertRefused(new byte[] {1, 2, 3, 4, 5}, "not a chunk patch");
    assertRefused(Arrays.copyOf(body(10, new long[][] {{0, 10}}, new byte[0]), 20), "ends early");
    assertRefused(body(10, new long[][] {{0, 6}}, new byte[0]), "pieces add up to 6 bytes, not the raw size 10");
    assertRefused(body(0, new long[][] {{0, 1}}, new byte[0]), "raw size must be between 1 and");
    assertRefused(body(ChunkFrames.MAX_RAW_SIZE + 1, new long[][] {{0, 1}}, new byte[0]), "raw size must be");
    assertRefused(body(10, new long[][] {}, new byte[0]), "piece count 0 out of range");
    assertRefused(body(10, new long[][] {{-2, 10}}, new byte[0]), "piece 0 (-2+10) out of range");
    assertRefused(body(10, new long[][] {{0, 0}, {0, 10}}, new byte[0]), "piece 0 (0+0) out of range");
    assertRefused(body(10, new long[][] {{0, 5}, {-1, 5}}, new byte[0]), "literals: not a zstd frame");
    assertRefused(body(10, new long[][] {{0, 4}, {-1, 6}}, literal), "literals must be one zstd frame of 6 bytes, not 5");
    assertRefused(body(10, new long[][] {{0, 10}}, literal), "literals sent for a patch without literal pieces");
    byte[] twoFrames = new byte[literal.length * 2];
    System.arraycopy(literal, 0, twoFrames, 0, literal.length);
    System.arraycopy(literal, 0, twoFrames, literal.length, literal.length);
    assertRefused(body(10, new long[][] {{0, 5}, {-1, 5}}, twoFrames), "literals: must be exactly one zstd frame");
  }

  private static void assertRefused(byte[] body, String why) {
    assertThatThrownBy(() -> ChunkPatch.decode("abc", body))
        .isInstanceOf(ArchiveException.class)
        .hasMessageContaining("chunk abc patch: ")
        .hasMessageContaining(why);
  }
}
