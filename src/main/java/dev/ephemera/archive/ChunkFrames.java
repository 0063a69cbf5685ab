package dev.ephemera.archive;

import com.github.luben.zstd.Zstd;

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
    long rawSize = contentSize("chunk " + sha256, frame);
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
    verifyRaw(sha256, raw);
    return raw;
  }

  /**
   * The content size {@code frame} declares, once it proved to be exactly one zstd frame; {@code what} names it in the
   * messages.
   */
  static long contentSize(String what, byte[] frame) throws ArchiveException {
    long frameSize;
    long size;
    try {
      frameSize = Zstd.findFrameCompressedSize(frame);
      size = Zstd.getFrameContentSize(frame);
    } catch (RuntimeException e) {
      throw new ArchiveException(ArchiveException.Reason.CORRUPT, null, what + ": not a zstd frame: " + e.getMessage());
    }
    if (frameSize != frame.length) {
      throw new ArchiveException(
          ArchiveException.Reason.CORRUPT, null,
          what + ": must be exactly one zstd frame (" + frameSize + " of " + frame.length + " bytes)");
    }
    return size;
  }

  /**
   * The raw bytes of {@code frame}, a chunk the worker stored (it verified the frame when it was uploaded), by the
   * content size the frame declares.
   */
  public static byte[] decompressStored(String sha256, byte[] frame) throws ArchiveException {
    long size = Zstd.getFrameContentSize(frame);
    if (size < 0 || size > Integer.MAX_VALUE) {
      throw new ArchiveException(
          ArchiveException.Reason.CORRUPT, null, "stored chunk " + sha256 + " has no readable content size");
    }
    try {
      return Zstd.decompress(frame, (int) size);
    } catch (RuntimeException e) {
      throw new ArchiveException(
          ArchiveException.Reason.CORRUPT, null, "stored chunk " + sha256 + " cannot be decompressed: " + e.getMessage());
    }
  }

  /** Checks that the raw chunk {@code raw} is the one named {@code sha256}. */
  public static void verifyRaw(String sha256, byte[] raw) throws ArchiveException {
    String actual = Sha256.of(raw);
    if (!actual.equals(sha256)) {
      throw new ArchiveException(ArchiveException.Reason.HASH_MISMATCH, null, "chunk " + sha256 + " hashes to " + actual);
    }
  }

  /**
   * One frame of {@code raw}, with its content size, at {@code level} (or the cheaper level an already compressed chunk
   * gets, as a persist compresses it: see {@link Compressibility}).
   */
  public static byte[] frame(byte[] raw, int level) {
    try (com.github.luben.zstd.ZstdCompressCtx ctx = new com.github.luben.zstd.ZstdCompressCtx()) {
      ctx.setLevel(Compressibility.level(raw, raw.length, level));
      ctx.setContentSize(true);
      ctx.setChecksum(false);
      return ctx.compress(raw);
    }
  }
}
