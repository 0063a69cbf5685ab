package dev.ephemera.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class FastCdcTest {
  /** Small sizes so that property-test inputs span many chunks. */
  private static final FastCdc.Params SMALL = new FastCdc.Params(256, 1024, 4096);

  private static byte[] random(long seed, int size) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static List<byte[]> streamChunks(FastCdc cdc, byte[] data, int[] writeSizes) throws IOException {
    List<byte[]> chunks = new ArrayList<>();
    try (OutputStream out = cdc.chunkingStream(chunks::add)) {
      int off = 0;
      int i = 0;
      while (off < data.length) {
        int n = Math.min(data.length - off, writeSizes[i++ % writeSizes.length]);
        out.write(data, off, n);
        off += n;
      }
    }
    return chunks;
  }

  private static List<String> hashes(FastCdc cdc, byte[] data) {
    List<String> out = new ArrayList<>();
    int off = 0;
    for (int len : cdc.chunkLengths(data)) {
      out.add(Sha256.of(data, off, len));
      off += len;
    }
    return out;
  }

  @Provide
  Arbitrary<byte[]> data() {
    // Mostly random bytes, sometimes long runs of one value (which hit the maximum size).
    Arbitrary<byte[]> randomBytes = Arbitraries.longs().flatMap(seed ->
        Arbitraries.integers().between(0, 60_000).map(n -> random(seed, n)));
    Arbitrary<byte[]> runs = Arbitraries.integers().between(0, 30_000).map(n -> new byte[n]);
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(4, randomBytes), net.jqwik.api.Tuple.of(1, runs));
  }

  @Property(tries = 200)
  void chunksConcatenateToTheInputWhateverTheWriteSizes(
      @ForAll("data") byte[] data, @ForAll @IntRange(min = 1, max = 9000) int w1, @ForAll @IntRange(min = 1, max = 300) int w2)
      throws IOException {
    List<byte[]> chunks = streamChunks(new FastCdc(SMALL), data, new int[] {w1, w2});
    var joined = new ByteArrayOutputStream();
    for (byte[] c : chunks) {
      joined.write(c);
    }
    assertThat(joined.toByteArray()).isEqualTo(data);
  }

  @Property(tries = 200)
  void chunkSizesStayWithinBoundsAndOnlyTheLastMayBeSmall(@ForAll("data") byte[] data) {
    List<Integer> lengths = new FastCdc(SMALL).chunkLengths(data);
    for (int i = 0; i < lengths.size(); i++) {
      assertThat(lengths.get(i)).isBetween(i == lengths.size() - 1 ? 1 : SMALL.minSize(), SMALL.maxSize());
    }
    assertThat(lengths.stream().mapToLong(Integer::longValue).sum()).isEqualTo(data.length);
  }

  @Property(tries = 200)
  void streamingGivesTheSameBoundariesAsTheWholeArray(
      @ForAll("data") byte[] data, @ForAll @IntRange(min = 1, max = 5000) int writeSize) throws IOException {
    FastCdc cdc = new FastCdc(SMALL);
    List<Integer> streamed = streamChunks(cdc, data, new int[] {writeSize}).stream().map(c -> c.length).toList();
    assertThat(streamed).isEqualTo(cdc.chunkLengths(data));
  }

  @Property(tries = 200)
  void aScanFedInPiecesCutsWhereTheWholeArrayIsCut(
      @ForAll("data") byte[] data, @ForAll @IntRange(min = 1, max = 5000) int piece) {
    FastCdc cdc = new FastCdc(SMALL);
    FastCdc.Scan scan = cdc.new Scan();
    List<Integer> lengths = new ArrayList<>();
    int start = 0;
    while (start < data.length) {
      int known = 0;
      int cut = -1;
      while (cut < 0) {
        known = Math.min(known + piece, data.length - start);
        cut = scan.cut(data, start, known, start + known == data.length);
      }
      assertThat(cut).isLessThanOrEqualTo(known);
      lengths.add(cut);
      start += cut;
    }
    assertThat(lengths).isEqualTo(cdc.chunkLengths(data));
  }

  @Property(tries = 200)
  void anInsertionChangesOnlyTheChunksNearIt(
      @ForAll long seed,
      @ForAll @IntRange(min = 40_000, max = 80_000) int size,
      @ForAll @IntRange(min = 0, max = 9_999) int at,
      @ForAll @IntRange(min = 1, max = 100) int inserted) {
    FastCdc cdc = new FastCdc(SMALL);
    byte[] before = random(seed, size);
    byte[] extra = random(~seed, inserted);
    byte[] after = new byte[size + inserted];
    System.arraycopy(before, 0, after, 0, at);
    System.arraycopy(extra, 0, after, at, inserted);
    System.arraycopy(before, at, after, at + inserted, size - at);

    List<Integer> oldLengths = cdc.chunkLengths(before);
    List<String> oldHashes = hashes(cdc, before);
    List<String> newHashes = hashes(cdc, after);

    // Every chunk that ends before the insertion is unchanged, in place.
    int end = 0;
    for (int i = 0; i < oldLengths.size() && (end += oldLengths.get(i)) <= at; i++) {
      assertThat(newHashes.get(i)).isEqualTo(oldHashes.get(i));
    }
    // Boundaries re-align soon after it: only a few chunks are new (measured: 85% of edits change
    // one chunk, the worst of 2000 changed five; ten leaves room for the tail of that distribution).
    Set<String> old = new HashSet<>(oldHashes);
    long fresh = newHashes.stream().filter(h -> !old.contains(h)).count();
    assertThat(fresh).isBetween(1L, 10L);
    // ...and everything after the re-alignment is the old stream's tail, chunk for chunk.
    assertThat(newHashes.get(newHashes.size() - 1)).isEqualTo(oldHashes.get(oldHashes.size() - 1));
  }

  @Test
  void defaultChunksAverageAboutOneMebibyteOnRandomData() {
    FastCdc cdc = new FastCdc(FastCdc.Params.DEFAULTS);
    List<Integer> lengths = cdc.chunkLengths(random(42, 64 << 20));
    double avg = lengths.stream().mapToInt(Integer::intValue).average().orElseThrow();
    assertThat(avg).isBetween(0.7 * (1 << 20), 1.6 * (1 << 20));
    assertThat(lengths.subList(0, lengths.size() - 1)).allMatch(l -> l >= 256 * 1024 && l <= 4 << 20);
  }

  @Test
  void boundariesAreFixedByTheSeedSoStoredChunksStayValid() {
    // If these change, every chunk already stored stops deduplicating: they are part of the format.
    assertThat(new FastCdc(SMALL).chunkLengths(random(7, 20_000)))
        .containsExactly(1640, 1055, 813, 1299, 1154, 1169, 626, 1387, 1104, 1053, 1418, 1343, 2118, 1137, 1118, 1566);
    assertThat(new FastCdc(FastCdc.Params.DEFAULTS).chunkLengths(random(7, 16 << 20)))
        .containsExactly(1547227, 1115497, 1107327, 298853, 1422358, 400099, 982228, 310597, 369877, 2770887, 1718431,
            1152837, 1812178, 1484713, 284107);
    assertThat(FastCdc.GEAR_SEED).isEqualTo(0x457068656d657261L);
  }

  /** The cut as the paper states it, a byte at a time: what the unrolled loops must agree with. */
  private static int referenceCut(byte[] data, int off, int len, FastCdc.Params p) {
    long[] gear = new long[256];
    long state = FastCdc.GEAR_SEED;
    for (int i = 0; i < 256; i++) {
      state += 0x9E3779B97F4A7C15L;
      long z = state;
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      gear[i] = z ^ (z >>> 31);
    }
    int bits = Integer.numberOfTrailingZeros(p.avgSize());
    long small = -1L << (64 - (bits + 1));
    long large = -1L << (64 - (bits - 1));
    if (len <= p.minSize()) {
      return len;
    }
    int n = Math.min(len, p.maxSize());
    long h = 0;
    for (int i = p.minSize(); i < n; i++) {
      h = (h << 1) + gear[data[off + i] & 0xff];
      if ((h & (i < p.avgSize() ? small : large)) == 0) {
        return i + 1;
      }
    }
    return n;
  }

  @Property(tries = 200)
  void cutsAreThoseOfTheByteAtATimeDefinition(
      @ForAll("data") byte[] data, @ForAll @IntRange(min = 0, max = 7) int offset) {
    byte[] shifted = new byte[data.length + offset];
    System.arraycopy(data, 0, shifted, offset, data.length);
    FastCdc cdc = new FastCdc(SMALL);
    int at = offset;
    while (at < shifted.length) {
      int expected = referenceCut(shifted, at, shifted.length - at, SMALL);
      assertThat(cdc.cut(shifted, at, shifted.length - at)).isEqualTo(expected);
      at += expected;
    }
  }

  @Test
  void paramsMustBeOrderedWithAPowerOfTwoAverage() {
    assertThatThrownBy(() -> new FastCdc.Params(256, 1000, 4096)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new FastCdc.Params(2048, 1024, 4096)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new FastCdc.Params(256, 1024, 512)).isInstanceOf(IllegalArgumentException.class);
  }
}
