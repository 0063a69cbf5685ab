package dev.ephemera.archive;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class EntryNamesTest {

  /** The order the tar stream's determinism is defined by: unsigned UTF-8 bytes. */
  private static int byUtf8Bytes(String a, String b) {
    return Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }

  @Provide
  Arbitrary<String> names() {
    // Units on both sides of every boundary that matters: ASCII and '/', Latin-1, the BMP below the surrogates, the
    // private use area and U+FFFF above them, and supplementary characters (surrogate pairs).
    Arbitrary<String> piece =
        Arbitraries.of(
            "", "/", "a", "A", "z", "0", ".", "-", "é", "ÿ", "Ā", "日", "\uD7FF", "\uE000", "\uF8FF", "\uFFFD", "\uFFFF",
            "🙂", "😀", "𝄞", new String(Character.toChars(0x10FFFF)), new String(Character.toChars(0x10000)));
    return piece.list().ofMaxSize(6).map(l -> String.join("", l));
  }

  @Property(tries = 5000)
  void compareUtf8AgreesWithTheUtf8BytesOrder(@ForAll("names") String a, @ForAll("names") String b) {
    assertEquals(Integer.signum(byUtf8Bytes(a, b)), Integer.signum(EntryNames.compareUtf8(a, b)), a + " vs " + b);
  }

  @Test
  void theBoundariesWhereUtf16OrderDiffersFromUtf8Order() {
    // U+E000 sorts after a surrogate pair in UTF-16 units but before it in UTF-8 (and code point) order.
    String privateUse = "\uE000";
    String supplementary = "🙂";
    assertEquals(-1, Integer.signum(EntryNames.compareUtf8(privateUse, supplementary)));
    assertEquals(1, Integer.signum(EntryNames.compareUtf8(supplementary, "\uFFFF")));
    assertEquals(-1, Integer.signum(EntryNames.compareUtf8("a", "a/")));
    assertEquals(-1, Integer.signum(EntryNames.compareUtf8("a/z", "a0")));
    assertEquals(0, EntryNames.compareUtf8("日本/🙂", "日本/🙂"));
  }
}
