package dev.ephemera.archive;

import dev.ephemera.archive.Manifest.Chunk;
import java.io.IOException;
import java.security.MessageDigest;

/**
 * Computes a manifest's {@code archive_sha256} from the frames actually stored. sha256 does not
 * compose, so a persist that reused stored chunks cannot know it without their bytes; whoever holds
 * the store (the worker, when it registers a set) fills it in with this.
 */
public final class ArchiveDigest {
  private ArchiveDigest() {}

  /**
   * Streams the manifest's frames in order from {@code source} and returns the manifest with {@code
   * archive_sha256} set.
   *
   * @throws ArchiveException when a stored frame's size differs from the manifest's
   */
  public static Manifest compute(Manifest manifest, ChunkSource source) throws IOException {
    MessageDigest sha = Sha256.newDigest();
    for (Chunk c : manifest.chunks()) {
      byte[] frame = source.fetch(c.sha256());
      if (frame == null || frame.length != c.storedSize()) {
        throw new ArchiveException(
            ArchiveException.Reason.HASH_MISMATCH,
            c.sha256(),
            "stored frame is " + (frame == null ? "missing" : frame.length + " bytes") + ", manifest says "
                + c.storedSize());
      }
      sha.update(frame);
    }
    return manifest.withDigests(manifest.tarSha256(), Sha256.hex(sha.digest()));
  }
}
