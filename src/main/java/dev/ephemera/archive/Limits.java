package dev.ephemera.archive;

/**
 * Caps applied while reading an archive, so a hostile or broken archive cannot exhaust the disk or
 * the machine.
 *
 * @param maxEntries most tar entries (files, directories, links) accepted
 * @param maxTotalBytes most bytes of file content accepted (sum of entry sizes)
 * @param maxCompressionRatio most uncompressed bytes per compressed byte over the whole stream;
 *     checked once more than {@link #RATIO_FLOOR_BYTES} have been decompressed, because tiny
 *     archives (mostly tar padding) legitimately compress very well
 */
public record Limits(long maxEntries, long maxTotalBytes, long maxCompressionRatio) {

  /** Below this many decompressed bytes the ratio is not checked. */
  public static final long RATIO_FLOOR_BYTES = 1L << 20;

  /** 1,000,000 entries, 64 GiB, ratio 1000. */
  public static final Limits DEFAULTS = new Limits(1_000_000, 64L << 30, 1000);

  public Limits {
    if (maxEntries < 1 || maxTotalBytes < 0 || maxCompressionRatio < 1) {
      throw new IllegalArgumentException(
          "limits must be positive: entries=" + maxEntries + " bytes=" + maxTotalBytes
              + " ratio=" + maxCompressionRatio);
    }
  }

  /** Throws when {@code raw} decompressed bytes from {@code compressed} stored bytes is too much. */
  public void checkRatio(long raw, long compressed) throws ArchiveException {
    if (raw > RATIO_FLOOR_BYTES && raw > maxCompressionRatio * Math.max(compressed, 1)) {
      throw new ArchiveException(
          ArchiveException.Reason.COMPRESSION_RATIO,
          null,
          raw + " bytes from " + compressed + " compressed, limit " + maxCompressionRatio + ":1");
    }
  }
}
