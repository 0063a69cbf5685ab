package dev.ephemera.event;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class UlidTest {

  @Property(tries = 50)
  void idsFromNextAreValidStrictlyIncreasingAndCarryTheCurrentTime(@ForAll @IntRange(min = 1, max = 3000) int count) {
    long before = System.currentTimeMillis();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      ids.add(Ulid.next());
    }
    long after = System.currentTimeMillis();

    for (int i = 0; i < ids.size(); i++) {
      String id = ids.get(i);
      assertThat(Ulid.isValid(id)).as(id).isTrue();
      assertThat(Ulid.timestamp(id).toEpochMilli()).isBetween(before, after);
      if (i > 0) {
        assertThat(id).isGreaterThan(ids.get(i - 1));
      }
    }
  }

  @Property
  void encodingPreservesTheTimestampAndSortsLikeTheNumber(
      @ForAll @LongRange(min = 0, max = (1L << 48) - 1) long millisA, @ForAll long hiA, @ForAll long loA,
      @ForAll @LongRange(min = 0, max = (1L << 48) - 1) long millisB, @ForAll long hiB, @ForAll long loB) {
    String a = Ulid.encode(millisA, hiA, loA);
    String b = Ulid.encode(millisB, hiB, loB);

    assertThat(Ulid.isValid(a)).isTrue();
    assertThat(Ulid.timestamp(a)).isEqualTo(Instant.ofEpochMilli(millisA));
    int numeric = compare128(millisA, hiA & 0xFFFF, loA, millisB, hiB & 0xFFFF, loB);
    assertThat(Integer.signum(a.compareTo(b))).isEqualTo(Integer.signum(numeric));
  }

  private static int compare128(long msA, long hiA, long loA, long msB, long hiB, long loB) {
    if (msA != msB) {
      return Long.compare(msA, msB);
    }
    if (hiA != hiB) {
      return Long.compare(hiA, hiB);
    }
    return Long.compareUnsigned(loA, loB);
  }

  @Test
  void decodesTheTimestampOfTheSpecExample() {
    assertThat(Ulid.timestamp("01ARZ3NDEKTSV4RRFFQ69G5FAV")).isEqualTo(Instant.ofEpochMilli(1469922850259L));
  }

  @Test
  void encodesTheExtremes() {
    assertThat(Ulid.encode(0, 0, 0)).isEqualTo("00000000000000000000000000");
    assertThat(Ulid.encode((1L << 48) - 1, 0xFFFF, -1L)).isEqualTo("7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
    assertThat(Ulid.encode(0, 0, 1)).isEqualTo("00000000000000000000000001");
    assertThat(Ulid.encode(0, 1, 0)).isEqualTo("0000000000000G000000000000");
  }

  @Test
  void withinOneMillisecondTheRandomPartIsIncremented() {
    Ulid.Generator generator = new Ulid.Generator(() -> 1_700_000_000_000L, new Random(7));

    String first = generator.next();
    String second = generator.next();

    assertThat(second).isGreaterThan(first);
    assertThat(Ulid.timestamp(second)).isEqualTo(Ulid.timestamp(first));
    assertThat(second.substring(0, 25)).isEqualTo(first.substring(0, 25)); // +1 in the last character
  }

  @Test
  void aClockThatStepsBackDoesNotBreakTheOrder() {
    AtomicLong clock = new AtomicLong(1_700_000_000_500L);
    Ulid.Generator generator = new Ulid.Generator(clock::get, new Random(7));

    String before = generator.next();
    clock.set(1_700_000_000_100L);
    String after = generator.next();

    assertThat(after).isGreaterThan(before);
    assertThat(Ulid.timestamp(after)).isEqualTo(Instant.ofEpochMilli(1_700_000_000_500L));
  }

  @Test
  void exhaustingTheRandomPartBorrowsTheNextMillisecond() {
    Random allOnes = new Random() {
      @Override
      public int nextInt() {
        return -1;
      }

      @Override
      public long nextLong() {
        return -1L;
      }
    };
    Ulid.Generator generator = new Ulid.Generator(() -> 1_700_000_000_000L, allOnes);

    String last = generator.next();
    String borrowed = generator.next();

    assertThat(last).endsWith("ZZZZZZZZZZZZZZZZ");
    assertThat(borrowed).isGreaterThan(last);
    assertThat(Ulid.timestamp(borrowed)).isEqualTo(Instant.ofEpochMilli(1_700_000_000_001L));
  }

  @Test
  void acceptsOnlyCanonicalUpperCaseUlids() {
    assertThat(Ulid.isValid("01ARZ3NDEKTSV4RRFFQ69G5FAV")).isTrue();
    assertThat(Ulid.isValid("01arz3ndektsv4rrffq69g5fav")).as("lower case").isFalse();
    assertThat(Ulid.isValid("01ARZ3NDEKTSV4RRFFQ69G5FA")).as("25 characters").isFalse();
    assertThat(Ulid.isValid("01ARZ3NDEKTSV4RRFFQ69G5FAVV")).as("27 characters").isFalse();
    assertThat(Ulid.isValid("81ARZ3NDEKTSV4RRFFQ69G5FAV")).as("beyond 48 bits").isFalse();
    for (char excluded : "ILOU".toCharArray()) {
      assertThat(Ulid.isValid("01ARZ3NDEKTSV4RRFFQ69G5FA" + excluded)).as("letter " + excluded).isFalse();
    }
    assertThat(Ulid.isValid("01ARZ3NDEKTSV4RRFFQ69G5FA\u00e9")).isFalse();
    assertThat(Ulid.isValid(null)).isFalse();
    assertThatThrownBy(() -> Ulid.timestamp("nope")).hasMessageStartingWith("ulid: not a ULID");
  }
}
