package dev.ephemera.archive;

import com.github.luben.zstd.Zstd;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * Checks of a stored chunk: exactly one zstd frame, with its content size, that decompresses to bytes whose sha256 is
 * the chunk's name. The server runs this on every upload, so a job cannot store bytes under another content's hash.
 */
public final class ChunkFrames {
  /** Largest raw chunk accepted (the chunker's maximum is 4 MiB; leave room for other parameters). */
  public static final int MAX_RAW_SIZE = 16 << 20;

  private ChunkFrames() {}

  /** The raw bytes of {@code frame}, after checking it is one frame naming {@code sha256}. */
  public static byte[] verify(String sha256, byte[] frame) throws ArchiveException {
    if (frame.length == 0) {
      throw new ArchiveException(ArchiveException.Reason.CORRUPT, null, "chunk " + sha256 + ": empty body");
    }
    long frameSize;
    long rawSize;
    try {
      frameSize = Zstd.findFrameCompressedSize(frame);
      rawSize = Zstd.getFrameContentSize(frame);
    } catch (RuntimeException e) {
      throw new ArchiveException(ArchiveException.Reason.CORRUPT, null, "chunk " + sha256 + ": not a zstd frame: " + e.getMessage());
    }
    if (frameSize != frame.length) {
      throw new ArchiveException(ArchiveException.Reason.CORRUPT, null, "chunk " + sha256 + ": must be exactly one zstd frame (" + frameSize + " of " + frame.length + " bytes)");
    }
    if (rawSize <= 0 || rawSize > MAX_RAW_SIZE) {
      throw new ArchiveException(ArchiveException.Reason.CORRUPT, null, "chunk " + sha256 + ": frame must declare a content size between 1 and " + MAX_RAW_SIZE + ", got " + rawSize);
    }
    byte[] raw;
    try {
      raw = Zstd.decompress(frame, (int) rawSize);
    } catch (RuntimeException e) {
      throw new ArchiveException(ArchiveException.Reason.CORRUPT, null, "chunk " + sha256 + ": corrupt zstd frame: " + e.getMessage());
    }
    if (raw.length != rawSize) {
      throw new ArchiveException(ArchiveException.Reason.CORRUPT, null, "chunk " + sha256 + ": frame decompressed to " + raw.length + " bytes, not " + rawSize);
    }
    String actual = sha256Hex(raw);
    if (!actual.equals(sha256)) {
      throw new ArchiveException(ArchiveException.Reason.HASH_MISMATCH, null, "chunk " + sha256 + " hashes to " + actual);
    }
    return raw;
  }

  static String sha256Hex(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
