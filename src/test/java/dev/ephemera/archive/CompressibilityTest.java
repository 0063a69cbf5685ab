package dev.ephemera.archive;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.luben.zstd.Zstd;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CompressibilityTest {

  private static byte[] text(int size) {
    StringBuilder b = new StringBuilder();
    Random r = new Random(1);
    String[] words = {"function", "return", "const", "module", "exports", "require", "this", "value", "=>", "{", "}"};
    while (b.length() < size) {
      b.append(words[r.nextInt(words.length)]).append(r.nextInt(3) == 0 ? '\n' : ' ');
    }
    return b.substring(0, size).getBytes(StandardCharsets.US_ASCII);
  }

  @Test
  void alreadyCompressedBytesGetTheCheaperLevelAndTextKeepsTheConfiguredOne() {
    byte[] random = new byte[1 << 20];
    new Random(2).nextBytes(random);
    byte[] compressed = Zstd.compress(text(4 << 20), 19); // what a jar entry or an image looks like: dense
    assertThat(Compressibility.entropyBits(random, random.length)).isGreaterThan(7.9);
    assertThat(Compressibility.level(random, random.length, 3)).isEqualTo(2);
    assertThat(Compressibility.level(compressed, compressed.length, 9)).isEqualTo(2);

    byte[] text = text(1 << 20);
    assertThat(Compressibility.entropyBits(text, text.length)).isLessThan(6);
    assertThat(Compressibility.level(text, text.length, 3)).isEqualTo(3);
    assertThat(Compressibility.level(text, text.length, 19)).isEqualTo(19);
  }

  @Test
  void weakLevelsAndSmallChunksAreLeftAlone() {
    byte[] random = new byte[1 << 20];
    new Random(3).nextBytes(random);
    assertThat(Compressibility.level(random, random.length, 1)).isEqualTo(1);
    assertThat(Compressibility.level(random, random.length, 2)).isEqualTo(2);
    assertThat(Compressibility.level(random, 1000, 3)).isEqualTo(3);
  }

  @Test
  void onlyTheFirstLengthBytesAreSampled() {
    byte[] half = new byte[1 << 20];
    new Random(4).nextBytes(half);
    byte[] text = text(1 << 19);
    System.arraycopy(text, 0, half, 0, text.length);
    // the text half alone decides when only it is the chunk
    assertThat(Compressibility.level(half, text.length, 3)).isEqualTo(3);
  }
}
