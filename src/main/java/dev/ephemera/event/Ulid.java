package dev.ephemera.event;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.Random;
import java.util.function.LongSupplier;

/**
 * ULIDs (https://github.com/ulid/spec): 48 bits of Unix milliseconds then 80 random bits, written as
 * 26 Crockford base32 characters. buildomat names jobs, tasks and workers this way; Ephemera names its
 * sets and events the same way so every id in the system sorts by creation time.
 *
 * <p>Ids from {@link #next()} are strictly increasing within this JVM: inside one millisecond the random
 * part is incremented instead of redrawn (the spec's monotonic mode), and a clock that steps back keeps
 * the last timestamp. Canonical form is upper case; {@link #isValid(String)} accepts only that form, so
 * string comparison and byte comparison agree everywhere (Postgres, Kafka keys, JSON).
 */
public final class Ulid {

  /** Length of the text form. */
  public static final int LENGTH = 26;

  private static final char[] ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".toCharArray();
  private static final byte[] DECODE = new byte[128];
  /** Largest timestamp a ULID can carry: 2^48 - 1 ms (year 10889). */
  static final long MAX_MILLIS = (1L << 48) - 1;

  static {
    java.util.Arrays.fill(DECODE, (byte) -1);
    for (int i = 0; i < ALPHABET.length; i++) {
      DECODE[ALPHABET[i]] = (byte) i;
    }
  }

  private static final Generator DEFAULT = new Generator(System::currentTimeMillis, new SecureRandom());

  private Ulid() {}

  /** A new ULID for the current time, greater than every ULID this JVM returned before. */
  public static String next() {
    return DEFAULT.next();
  }

  /**
   * The monotonic generator behind {@link #next()}; an instance with its own clock and randomness lets
   * tests drive the same-millisecond, clock-step-back and overflow paths without touching global state.
   */
  static final class Generator {
    private final LongSupplier clock;
    private final Random random;
    private long lastMillis = -1;
    // the 80-bit random part of the last id: high 16 and low 64 bits
    private long lastHi;
    private long lastLo;

    Generator(LongSupplier clock, Random random) {
      this.clock = clock;
      this.random = random;
    }

    synchronized String next() {
      long now = clock.getAsLong();
      if (now > lastMillis) {
        lastMillis = now;
        lastHi = random.nextInt() & 0xFFFFL;
        lastLo = random.nextLong();
      } else {
        // same millisecond, or the clock stepped back: keep the timestamp, increment the random part
        lastLo++;
        if (lastLo == 0) {
          lastHi++;
          if (lastHi > 0xFFFFL) {
            // all 2^80 values used in one millisecond: borrow the next millisecond, staying monotonic
            lastMillis++;
            lastHi = random.nextInt() & 0x7FFFL; // top bit clear: room to increment again
            lastLo = random.nextLong();
          }
        }
      }
      return encode(lastMillis, lastHi, lastLo);
    }
  }

  /** The text form of a timestamp and an 80-bit random part given as its high 16 and low 64 bits. */
  static String encode(long millis, long randomHi16, long randomLo64) {
    if (millis < 0 || millis > MAX_MILLIS) {
      throw new IllegalArgumentException("ULID timestamp out of range: " + millis);
    }
    char[] out = new char[LENGTH];
    for (int i = 0; i < 10; i++) {
      out[i] = ALPHABET[(int) ((millis >>> (45 - 5 * i)) & 31)];
    }
    long hi = randomHi16 & 0xFFFFL;
    for (int j = 0; j < 16; j++) {
      int shift = 75 - 5 * j; // lowest bit of this 5-bit group within the 80-bit number
      long bits;
      if (shift >= 64) {
        bits = hi >>> (shift - 64);
      } else if (shift + 5 <= 64) {
        bits = randomLo64 >>> shift;
      } else {
        bits = (randomLo64 >>> shift) | (hi << (64 - shift));
      }
      out[10 + j] = ALPHABET[(int) (bits & 31)];
    }
    return new String(out);
  }

  /** True when {@code s} is a canonical (upper-case) ULID. */
  public static boolean isValid(String s) {
    if (s == null || s.length() != LENGTH || s.charAt(0) > '7') {
      return false;
    }
    for (int i = 0; i < LENGTH; i++) {
      char c = s.charAt(i);
      if (c >= 128 || DECODE[c] < 0) {
        return false;
      }
    }
    return true;
  }

  /** The creation time carried by a ULID (millisecond precision). */
  public static Instant timestamp(String ulid) {
    requireValid(ulid, "ulid");
    long millis = 0;
    for (int i = 0; i < 10; i++) {
      millis = (millis << 5) | DECODE[ulid.charAt(i)];
    }
    return Instant.ofEpochMilli(millis);
  }

  /**
   * Returns {@code value} when it is a canonical ULID, else throws {@link IllegalArgumentException}
   * naming {@code field}. For compact constructors.
   */
  public static String requireValid(String value, String field) {
    if (!isValid(value)) {
      throw new IllegalArgumentException(
          field + ": not a ULID (26 upper-case Crockford base32 characters): " + quote(value));
    }
    return value;
  }

  private static String quote(String value) {
    if (value == null) {
      return "null";
    }
    String shown = value.length() > 40 ? value.substring(0, 40) + "..." : value;
    return '"' + shown + '"';
  }
}
