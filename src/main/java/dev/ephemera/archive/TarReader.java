package dev.ephemera.archive;

import dev.ephemera.archive.ArchiveException.Reason;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;

/**
 * A strict pull parser of tar streams (ustar, pax 'x' headers, GNU long names). Anything it does
 * not understand is refused rather than guessed at, and a stream that ends before its
 * end-of-archive marker is refused as truncated. It only parses: {@link SafeExtractor} decides what
 * is safe.
 */
final class TarReader {
  /** A parsed entry header, after pax and GNU long-name headers were applied. */
  record Header(String name, byte type, int mode, long size, Instant mtime, String linkName) {}

  private static final int MAX_META_SIZE = 1 << 20;
  private static final int MAX_META_HEADERS = 8;

  private final InputStream in;
  private final byte[] block = new byte[TarFormat.BLOCK];
  /** Digests each entry's header bytes (extended headers included) when the layout is recorded; else null. */
  private final MessageDigest headerDigest;
  private boolean hashing;
  private long remaining;
  private int padding;
  private String current = null;
  /** Bytes consumed from the stream. */
  private long position;
  private long headerStart = -1;
  private byte[] headerHash;

  TarReader(InputStream in) {
    this(in, false);
  }

  /**
   * @param layout record where each entry's header starts in the stream and a digest of its header bytes ({@link
   *     #headerStart()}, {@link #headerHash()}): what a {@link FilesCache} needs
   */
  TarReader(InputStream in, boolean layout) {
    this.in = in;
    this.headerDigest = layout ? Sha256.newDigest() : null;
  }

  /** Whether it records the layout (see the constructor). */
  boolean recordsLayout() {
    return headerDigest != null;
  }

  /** Stream offset of the last entry's first header byte (its extended headers', if any). */
  long headerStart() {
    return headerStart;
  }

  /** The first 16 bytes of the sha256 of the last entry's header bytes; null unless the layout is recorded. */
  byte[] headerHash() {
    return headerHash;
  }

  /** Stream offset of the next byte to be read: after the end-of-archive marker, where that marker starts. */
  long position() {
    return position;
  }

  /** The next entry, or {@code null} after the end-of-archive marker (the rest must be zeros). */
  Header next() throws IOException {
    skipRest();
    headerStart = position;
    if (headerDigest != null) {
      headerDigest.reset();
      hashing = true;
    }
    try {
      return nextHeader();
    } finally {
      hashing = false;
    }
  }

  private Header nextHeader() throws IOException {
    String paxPath = null;
    String paxLink = null;
    Long paxSize = null;
    Instant paxMtime = null;
    String gnuName = null;
    String gnuLink = null;
    for (int meta = 0; ; meta++) {
      if (meta > MAX_META_HEADERS) {
        throw new ArchiveException(Reason.CORRUPT, current, "too many extended headers in a row");
      }
      if (!readBlock(true)) {
        throw new ArchiveException(Reason.TRUNCATED, null, "stream ended without an end-of-archive marker");
      }
      if (TarFormat.isZeroBlock(block)) {
        long marker = position - TarFormat.BLOCK;
        if (!readBlock(true) || !TarFormat.isZeroBlock(block)) {
          throw new ArchiveException(Reason.TRUNCATED, null, "incomplete end-of-archive marker");
        }
        drainZeros();
        position = marker;
        headerStart = marker;
        return null;
      }
      if (!TarFormat.checksumOk(block)) {
        throw new ArchiveException(Reason.CORRUPT, current, "header checksum mismatch after this entry");
      }
      String rawName = TarFormat.parseString(block, 0, 100);
      byte type = block[156];
      long size = TarFormat.parseNumber(block, 124, 12, rawName, "size");
      switch (type) {
        case 'x' -> {
          for (String[] kv : paxRecords(readMeta(size, rawName), rawName)) {
            switch (kv[0]) {
              case "path" -> paxPath = kv[1];
              case "linkpath" -> paxLink = kv[1];
              case "size" -> paxSize = parseLong(kv[1], rawName, "pax size");
              case "mtime" -> paxMtime = parseTime(kv[1], rawName);
              default -> {
                if (kv[0].startsWith("GNU.sparse")) {
                  throw new ArchiveException(Reason.UNSUPPORTED_ENTRY, rawName, "sparse files");
                }
              }
            }
          }
        }
        case 'g' -> {
          for (String[] kv : paxRecords(readMeta(size, rawName), rawName)) {
            if (kv[0].equals("path") || kv[0].equals("linkpath") || kv[0].equals("size")) {
              throw new ArchiveException(Reason.UNSUPPORTED_ENTRY, rawName, "global pax header setting " + kv[0]);
            }
          }
        }
        case 'L' -> gnuName = cString(readMeta(size, rawName));
        case 'K' -> gnuLink = cString(readMeta(size, rawName));
        default -> {
          String name = gnuName != null ? gnuName : rawName;
          if (paxPath != null) {
            name = paxPath;
          } else if (gnuName == null && isPosixUstar()) {
            String prefix = TarFormat.parseString(block, 345, 155);
            if (!prefix.isEmpty()) {
              name = prefix + "/" + name;
            }
          }
          String link = paxLink != null ? paxLink : gnuLink != null ? gnuLink : TarFormat.parseString(block, 157, 100);
          long entrySize = paxSize != null ? paxSize : size;
          if (entrySize < 0) {
            throw new ArchiveException(Reason.CORRUPT, name, "negative size");
          }
          int mode = (int) (TarFormat.parseNumber(block, 100, 8, name, "mode") & 07777);
          Instant mtime =
              paxMtime != null ? paxMtime : Instant.ofEpochSecond(TarFormat.parseNumber(block, 136, 12, name, "mtime"));
          current = name;
          // Only regular files (and contiguous files, '7') carry data that we keep; the data of any
          // other entry is skipped by skipRest() like tar(1) does.
          remaining = entrySize;
          padding = (int) ((TarFormat.BLOCK - (entrySize % TarFormat.BLOCK)) % TarFormat.BLOCK);
          if (headerDigest != null) {
            headerHash = java.util.Arrays.copyOf(headerDigest.digest(), FilesCache.HEADER_HASH_BYTES);
          }
          return new Header(name, type, mode, entrySize, mtime, link);
        }
      }
    }
  }

  /** Reads content of the current entry; -1 at its end. */
  int read(byte[] b, int off, int len) throws IOException {
    if (remaining == 0) {
      return -1;
    }
    int n = in.read(b, off, (int) Math.min(len, remaining));
    if (n < 0) {
      throw new ArchiveException(Reason.TRUNCATED, current, "stream ended inside the entry's data");
    }
    remaining -= n;
    position += n;
    return n;
  }

  /** A stream that can lend its next bytes as a view of its own buffer instead of copying them out. */
  interface Lender {
    /** At most {@code max} next bytes (at least one; null at the end), valid until the stream is read again. */
    ByteBuffer lend(int max) throws IOException;
  }

  /** Whether {@link #lend} works: the stream is a {@link Lender}. */
  boolean lends() {
    return in instanceof Lender;
  }

  /**
   * The current entry's next content bytes, at most {@code max}, as a view of the stream's buffer (valid until the next
   * call on this reader); null at the entry's end. Only when {@link #lends()}.
   */
  ByteBuffer lend(int max) throws IOException {
    if (remaining == 0) {
      return null;
    }
    ByteBuffer view = ((Lender) in).lend((int) Math.min(max, remaining));
    if (view == null) {
      throw new ArchiveException(Reason.TRUNCATED, current, "stream ended inside the entry's data");
    }
    remaining -= view.remaining();
    position += view.remaining();
    return view;
  }

  /** Takes the pieces of an entry's content. */
  @FunctionalInterface
  interface PieceSink {
    void accept(ByteBuffer piece) throws IOException;
  }

  /**
   * Hands the rest of the current entry's content to {@code sink}: views of the stream's buffer, at most {@code
   * maxPiece} bytes each, where it {@link #lends}; else copies through {@code buffer}. Each piece is valid only until
   * {@code sink} returns.
   */
  void content(byte[] buffer, int maxPiece, PieceSink sink) throws IOException {
    if (lends()) {
      for (ByteBuffer piece; (piece = lend(maxPiece)) != null; ) {
        sink.accept(piece);
      }
    } else {
      int n;
      while ((n = read(buffer, 0, buffer.length)) > 0) {
        sink.accept(ByteBuffer.wrap(buffer, 0, n));
      }
    }
  }

  /** Reads exactly {@code len} bytes of the current entry's content into the start of {@code b}. */
  void readFully(byte[] b, int len) throws IOException {
    if (len > remaining || len > b.length) {
      throw new IllegalArgumentException("the entry has only " + remaining + " bytes left");
    }
    readFully(b, len, current);
    remaining -= len;
  }

  private void skipRest() throws IOException {
    byte[] scratch = block;
    while (remaining > 0) {
      int n = read(scratch, 0, scratch.length);
      if (n < 0) {
        break;
      }
    }
    if (padding > 0) {
      readFully(block, padding, current);
      padding = 0;
    }
  }

  private boolean isPosixUstar() {
    return block[257] == 'u' && block[258] == 's' && block[259] == 't' && block[260] == 'a' && block[261] == 'r'
        && block[262] == 0;
  }

  private byte[] readMeta(long size, String name) throws IOException {
    if (size > MAX_META_SIZE) {
      throw new ArchiveException(Reason.CORRUPT, name, "extended header of " + size + " bytes");
    }
    byte[] data = new byte[(int) size];
    readFully(data, data.length, name);
    int pad = (int) ((TarFormat.BLOCK - (size % TarFormat.BLOCK)) % TarFormat.BLOCK);
    readFully(block, pad, name);
    return data;
  }

  private static java.util.List<String[]> paxRecords(byte[] data, String name) throws ArchiveException {
    var out = new java.util.ArrayList<String[]>();
    int pos = 0;
    while (pos < data.length) {
      int sp = pos;
      long len = 0;
      while (sp < data.length && data[sp] >= '0' && data[sp] <= '9' && len < Integer.MAX_VALUE) {
        len = len * 10 + (data[sp] - '0');
        sp++;
      }
      if (sp == pos || sp >= data.length || data[sp] != ' ' || len <= sp - pos || pos + len > data.length
          || data[(int) (pos + len - 1)] != '\n') {
        throw new ArchiveException(Reason.CORRUPT, name, "malformed pax record");
      }
      String record = new String(data, sp + 1, (int) (pos + len - 1 - (sp + 1)), StandardCharsets.UTF_8);
      int eq = record.indexOf('=');
      if (eq <= 0) {
        throw new ArchiveException(Reason.CORRUPT, name, "malformed pax record");
      }
      out.add(new String[] {record.substring(0, eq), record.substring(eq + 1)});
      pos += (int) len;
    }
    return out;
  }

  private static String cString(byte[] data) {
    int end = data.length;
    while (end > 0 && data[end - 1] == 0) {
      end--;
    }
    return new String(data, 0, end, StandardCharsets.UTF_8);
  }

  private static long parseLong(String s, String name, String what) throws ArchiveException {
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      throw new ArchiveException(Reason.CORRUPT, name, "bad " + what);
    }
  }

  private static Instant parseTime(String s, String name) throws ArchiveException {
    try {
      return TarFormat.parsePaxTime(s);
    } catch (RuntimeException e) {
      throw new ArchiveException(Reason.CORRUPT, name, "bad pax mtime '" + s + "'");
    }
  }

  private boolean readBlock(boolean eofOk) throws IOException {
    int got = 0;
    while (got < TarFormat.BLOCK) {
      int n = in.read(block, got, TarFormat.BLOCK - got);
      if (n < 0) {
        if (got == 0 && eofOk) {
          return false;
        }
        throw new ArchiveException(Reason.TRUNCATED, current, "stream ended inside a header");
      }
      got += n;
    }
    position += TarFormat.BLOCK;
    if (hashing) {
      headerDigest.update(block, 0, TarFormat.BLOCK);
    }
    return true;
  }

  private void readFully(byte[] b, int len, String name) throws IOException {
    int got = 0;
    while (got < len) {
      int n = in.read(b, got, len - got);
      if (n < 0) {
        throw new ArchiveException(Reason.TRUNCATED, name, "stream ended inside the entry");
      }
      got += n;
    }
    position += len;
    if (hashing) {
      headerDigest.update(b, 0, len);
    }
  }

  /** After the end marker only zero padding may follow (it is still part of the hashed stream). */
  private void drainZeros() throws IOException {
    byte[] buf = new byte[8192];
    int n;
    while ((n = in.read(buf)) >= 0) {
      for (int i = 0; i < n; i++) {
        if (buf[i] != 0) {
          throw new ArchiveException(Reason.CORRUPT, null, "data after the end-of-archive marker");
        }
      }
    }
  }
}
