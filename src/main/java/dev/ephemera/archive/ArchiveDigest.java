package dev.ephemera.archive;

import com.github.luben.zstd.Zstd;
import dev.ephemera.archive.Manifest.Chunk;
import java.io.IOException;
import java.security.MessageDigest;

/**
 * Computes a manifest's stream digests ({@code tar_sha256} and {@code archive_sha256}) from the frames actually
 * stored. sha256 does not compose, so a persist that reused stored chunks cannot know the archive digest without their
 * bytes, and one that leaves both digests to the store's side (as the CLI does) knows neither; whoever holds the store
 * fills them in. The worker does the same at registration with its own fetching in parallel (JobApi); this one reads
 * the frames in order, for {@code ephemera selftest} and tests.
 */
public final class ArchiveDigest {
  private ArchiveDigest() {}

  /**
   * Streams the manifest's frames in order from {@code source} and returns the manifest with {@code tar_sha256} (of
   * the decompressed frames) and {@code archive_sha256} (of the frames) set.
   *
   * @throws ArchiveException when a stored frame's size, or the size it decompresses to, differs from the manifest's
   */
  public static Manifest compute(Manifest manifest, ChunkSource source) throws IOException {
    MessageDigest archive = Sha256.newDigest();
    MessageDigest tar = Sha256.newDigest();
    for (Chunk c : manifest.chunks()) {
      byte[] frame = source.fetch(c.sha256());
      if (frame == null || frame.length != c.storedSize()) {
        throw new ArchiveException(
            ArchiveException.Reason.HASH_MISMATCH,
            c.sha256(),
            "stored frame is " + (frame == null ? "missing" : frame.length + " bytes") + ", manifest says "
                + c.storedSize());
      }
      archive.update(frame);
      byte[] raw = Zstd.decompress(frame, c.rawSize());
      if (raw.length != c.rawSize()) {
        throw new ArchiveException(
            ArchiveException.Reason.HASH_MISMATCH,
            c.sha256(),
            "stored frame decompresses to " + raw.length + " bytes, manifest says " + c.rawSize());
      }
      tar.update(raw);
    }
    return manifest.withDigests(Sha256.hex(tar.digest()), Sha256.hex(archive.digest()));
  }
}
