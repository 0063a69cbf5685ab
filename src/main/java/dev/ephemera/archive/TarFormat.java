package dev.ephemera.archive;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;

/**
 * The bytes of POSIX pax tar (ustar headers plus 'x' extended headers), written deterministically:
 * numeric owner 0, no user or group names, no atime/ctime, pax records in a fixed order.
 */
final class TarFormat {
  static final int BLOCK = 512;
  /** Archives end with two zero blocks and are padded to whole 10240-byte records, like tar(1). */
  static final int RECORD = 20 * BLOCK;

  static final byte TYPE_FILE = '0';
  static final byte TYPE_HARDLINK = '1';
  static final byte TYPE_SYMLINK = '2';
  static final byte TYPE_DIR = '5';
  static final byte TYPE_PAX = 'x';

  private static final long MAX_OCTAL_11 = 077777777777L;
  private static final byte[] ZEROS = new byte[RECORD];
  /** A header's fields end with the version at 263-264; uname, gname, devmajor, devminor and prefix stay empty. */
  private static final int USED = 265;

  private TarFormat() {}

  /**
   * Writes the header block(s) of one entry: a pax extended header when a value does not fit ustar
   * exactly (long or non-ASCII names and link targets, sizes of 8 GiB and more, sub-second or
   * out-of-range mtimes), then the ustar header.
   *
   * @param name entry name ('/'-terminated for directories)
   * @return bytes written
   */
  static long writeHeader(
      OutputStream out, byte[] block, String name, byte type, int mode, long size, Instant mtime, String linkName)
      throws IOException {
    var pax = new ByteArrayOutputStream();
    String ustarName = name;
    if (!fitsUstar(name)) {
      paxRecord(pax, "path", name);
      ustarName = placeholder(name);
    }
    String ustarLink = linkName == null ? "" : linkName;
    if (linkName != null && !fitsUstar(linkName)) {
      paxRecord(pax, "linkpath", linkName);
      ustarLink = placeholder(linkName);
    }
    long ustarSize = size;
    if (size > MAX_OCTAL_11) {
      paxRecord(pax, "size", Long.toString(size));
      ustarSize = 0;
    }
    long seconds = mtime.getEpochSecond();
    long ustarMtime = seconds;
    if (mtime.getNano() != 0 || seconds < 0 || seconds > MAX_OCTAL_11) {
      paxRecord(pax, "mtime", formatPaxTime(mtime));
      ustarMtime = Math.max(0, Math.min(seconds, MAX_OCTAL_11));
    }
    long written = 0;
    if (pax.size() > 0) {
      byte[] records = pax.toByteArray();
      fillHeader(block, paxHeaderName(name), TYPE_PAX, 0644, records.length, 0, "");
      out.write(block, 0, BLOCK);
      out.write(records);
      written += BLOCK + records.length + writePadding(out, records.length);
    }
    fillHeader(block, ustarName, type, mode, ustarSize, ustarMtime, ustarLink);
    out.write(block, 0, BLOCK);
    return written + BLOCK;
  }

  /**
   * Zeros {@code b[off, off + len)}. A copy from a zero array: under C1, which is all the CLI runs (bin/ephemera),
   * {@link Arrays#fill} is a plain loop and {@link System#arraycopy} is not (a header took 3.6 µs, mostly
   * filling).
   */
  static void zero(byte[] b, int off, int len) {
    while (len > 0) {
      int n = Math.min(len, ZEROS.length);
      System.arraycopy(ZEROS, 0, b, off, n);
      off += n;
      len -= n;
    }
  }

  /** Writes zeros up to the next block boundary after {@code size} content bytes; returns count. */
  static int writePadding(OutputStream out, long size) throws IOException {
    int pad = (int) ((BLOCK - (size % BLOCK)) % BLOCK);
    out.write(ZEROS, 0, pad);
    return pad;
  }

  /** Writes the end-of-archive marker and record padding; returns bytes written. */
  static long writeEnd(OutputStream out, long writtenSoFar) throws IOException {
    long total = writtenSoFar + 2L * BLOCK;
    int pad = (int) ((RECORD - (total % RECORD)) % RECORD);
    out.write(ZEROS, 0, 2 * BLOCK);
    out.write(ZEROS, 0, pad);
    return 2L * BLOCK + pad;
  }

  static String formatPaxTime(Instant t) {
    long seconds = t.getEpochSecond();
    int nanos = t.getNano();
    if (seconds < 0) {
      // "-1.5" for 1.5 s before the epoch: the fraction counts the other way
      return new BigDecimal(seconds).add(BigDecimal.valueOf(nanos, 9)).stripTrailingZeros().toPlainString();
    }
    if (nanos == 0) {
      return Long.toString(seconds);
    }
    int digits = 9;
    while (nanos % 10 == 0) {
      nanos /= 10;
      digits--;
    }
    String fraction = Integer.toString(nanos);
    return seconds + "." + "0".repeat(digits - fraction.length()) + fraction;
  }

  static Instant parsePaxTime(String s) {
    BigDecimal d = new BigDecimal(s);
    BigDecimal seconds = d.setScale(0, java.math.RoundingMode.FLOOR);
    int nanos = d.subtract(seconds).movePointRight(9).setScale(0, java.math.RoundingMode.FLOOR).intValueExact();
    return Instant.ofEpochSecond(seconds.longValueExact(), nanos);
  }

  /** Plain printable ASCII of at most 100 bytes goes in the ustar name field as is. */
  private static boolean fitsUstar(String s) {
    if (s.length() > 100) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        return false;
      }
    }
    return true;
  }

  /** What readers without pax support see: an ASCII-only, truncated stand-in. */
  private static String placeholder(String s) {
    var sb = new StringBuilder(100);
    for (int i = 0; i < s.length() && sb.length() < 100; i++) {
      char c = s.charAt(i);
      sb.append(c >= 0x20 && c <= 0x7e ? c : '_');
    }
    return sb.toString();
  }

  private static String paxHeaderName(String name) {
    String trimmed = name.endsWith("/") ? name.substring(0, name.length() - 1) : name;
    String base = trimmed.substring(trimmed.lastIndexOf('/') + 1);
    String full = "PaxHeaders/" + placeholder(base);
    return full.length() > 100 ? full.substring(0, 100) : full;
  }

  /** One pax record: "LEN key=value\n" where LEN counts the whole record including itself. */
  private static void paxRecord(ByteArrayOutputStream pax, String key, String value) {
    byte[] v = ascii(value) ? null : value.getBytes(StandardCharsets.UTF_8);
    int kv = key.length() + 1 + (v == null ? value.length() : v.length) + 1; // key=value\n (keys are ASCII)
    int len = kv + 2; // at least one digit and the space
    while (len != kv + 1 + digits(len)) {
      len = kv + 1 + digits(len);
    }
    writeAscii(pax, Integer.toString(len));
    pax.write(' ');
    writeAscii(pax, key);
    pax.write('=');
    if (v == null) {
      writeAscii(pax, value);
    } else {
      pax.writeBytes(v);
    }
    pax.write('\n');
  }

  private static int digits(int n) {
    int d = 1;
    while (n >= 10) {
      n /= 10;
      d++;
    }
    return d;
  }

  private static boolean ascii(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) >= 0x80) {
        return false;
      }
    }
    return true;
  }

  private static void writeAscii(ByteArrayOutputStream out, String s) {
    for (int i = 0; i < s.length(); i++) {
      out.write(s.charAt(i));
    }
  }

  private static void fillHeader(
      byte[] b, String name, byte type, int mode, long size, long mtime, String linkName) {
    zero(b, 0, BLOCK);
    putString(b, 0, 100, name);
    putOctal(b, 100, 8, mode);
    putOctal(b, 108, 8, 0); // uid
    putOctal(b, 116, 8, 0); // gid
    putOctal(b, 124, 12, size);
    putOctal(b, 136, 12, mtime);
    b[156] = type;
    putString(b, 157, 100, linkName);
    putString(b, 257, 6, "ustar"); // NUL-terminated magic
    b[263] = '0';
    b[264] = '0';
    // uname, gname, devmajor, devminor and prefix stay empty.
    Arrays.fill(b, 148, 156, (byte) ' ');
    long sum = 0;
    for (int i = 0; i < USED; i++) { // the rest of the block is zeros
      sum += b[i] & 0xff;
    }
    putOctal(b, 148, 7, sum); // six digits and NUL, then the space already there
  }

  private static void putString(byte[] b, int off, int len, String s) {
    if (!ascii(s)) {
      byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
      System.arraycopy(bytes, 0, b, off, Math.min(len, bytes.length));
      return;
    }
    int n = Math.min(len, s.length());
    for (int i = 0; i < n; i++) {
      b[off + i] = (byte) s.charAt(i);
    }
  }

  /** Zero-padded octal in {@code len - 1} digits followed by NUL. */
  private static void putOctal(byte[] b, int off, int len, long value) {
    int pos = off + len - 1;
    b[pos--] = 0;
    long v = value;
    while (pos >= off) {
      b[pos--] = (byte) ('0' + (v & 7));
      v >>>= 3;
    }
    if (v != 0) {
      throw new IllegalArgumentException("value " + value + " does not fit " + (len - 1) + " octal digits");
    }
  }

  // ---- reading ----

  /** Parses an octal (or GNU base-256) numeric field. */
  static long parseNumber(byte[] b, int off, int len, String entry, String field) throws ArchiveException {
    if ((b[off] & 0x80) != 0) {
      if ((b[off] & 0x40) != 0) {
        throw new ArchiveException(ArchiveException.Reason.CORRUPT, entry, "negative " + field);
      }
      long v = b[off] & 0x3f;
      for (int i = 1; i < len; i++) {
        if ((v >>> 55) != 0) {
          throw new ArchiveException(ArchiveException.Reason.CORRUPT, entry, field + " too large");
        }
        v = (v << 8) | (b[off + i] & 0xff);
      }
      return v;
    }
    int i = off;
    int end = off + len;
    while (i < end && (b[i] == ' ' || b[i] == 0)) {
      i++;
    }
    long v = 0;
    boolean any = false;
    for (; i < end; i++) {
      int c = b[i];
      if (c == 0 || c == ' ') {
        break;
      }
      if (c < '0' || c > '7') {
        throw new ArchiveException(ArchiveException.Reason.CORRUPT, entry, "bad " + field + " field");
      }
      if ((v >>> 60) != 0) {
        throw new ArchiveException(ArchiveException.Reason.CORRUPT, entry, field + " too large");
      }
      v = (v << 3) | (c - '0');
      any = true;
    }
    return any ? v : 0;
  }

  /** Whether the header checksum matches (unsigned, or signed as some old writers did). */
  static boolean checksumOk(byte[] b) throws ArchiveException {
    long stored = parseNumber(b, 148, 8, null, "checksum");
    long unsigned = 0;
    long signed = 0;
    for (int i = 0; i < BLOCK; i++) {
      int v = (i >= 148 && i < 156) ? ' ' : b[i];
      unsigned += v & 0xff;
      signed += v;
    }
    return stored == unsigned || stored == signed;
  }

  static String parseString(byte[] b, int off, int len) {
    int end = off;
    while (end < off + len && b[end] != 0) {
      end++;
    }
    return new String(b, off, end - off, StandardCharsets.UTF_8);
  }

  static boolean isZeroBlock(byte[] b) {
    for (int i = 0; i < BLOCK; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  }
}
