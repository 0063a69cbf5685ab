package dev.ephemera.archive;

import java.io.IOException;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Where {@link ArchiveWriter} stores chunks, keyed by the sha256 of the raw (uncompressed) chunk.
 * The caller implements it over the HTTP API or an object store. Both methods may be called from
 * several threads at once.
 */
public interface ChunkSink {

  /**
   * Which of these chunks are already stored, with the size of their stored frame (needed for the
   * manifest). Called in batches before anything is compressed, so stored chunks cost nothing.
   *
   * @return stored chunks among {@code sha256s} mapped to their stored (compressed) size
   */
  Map<String, Long> present(Collection<String> sha256s) throws IOException;

  /**
   * As {@link #present(Collection)}, also telling the sink where chunks sit in the stream: {@code order} holds the
   * chunks at stream positions {@code first, first + 1, ...} (every chunk of the stream is in exactly one call's
   * order, repeats included; calls may overlap and arrive out of order). A sink that digests the stream while chunks
   * arrive (the worker's upload session) uses it; {@code sha256s} may then be empty. By default: {@link
   * #present(Collection)} when there is something to ask.
   */
  default Map<String, Long> present(Collection<String> sha256s, long first, List<String> order) throws IOException {
    return sha256s.isEmpty() ? Map.of() : present(sha256s);
  }

  /**
   * Stores one chunk.
   *
   * @param sha256 hash of the raw chunk
   * @param frame one complete zstd frame (with content size) that decompresses to the raw chunk
   * @param rawSize length of the raw chunk
   */
  void put(String sha256, byte[] frame, int rawSize) throws IOException;

  /**
   * Stores one chunk whose frame is {@code frame[0, frameLength)}. The array is the caller's again once this returns
   * ({@link ArchiveWriter} reuses it for a later frame): a sink that keeps the bytes keeps a copy. By default: {@link
   * #put(String, byte[], int)} with a copy of exactly the frame.
   */
  default void put(String sha256, byte[] frame, int frameLength, int rawSize) throws IOException {
    put(sha256, java.util.Arrays.copyOf(frame, frameLength), rawSize);
  }

  /**
   * Stores one chunk sent as {@code body}, an encoded {@link ChunkPatch} against the set the job restored: the sink
   * rebuilds the raw chunk from that set's stored bytes and the patch's literals, checks it against {@code sha256} and
   * stores a frame of it.
   *
   * @return the stored (compressed) size, or -1 when the sink did not take the patch (it takes none, the base set is
   *     gone or not the job's to read, a base chunk is missing, the rebuilt bytes are not the chunk): the caller then
   *     {@link #put}s the frame. By default -1.
   */
  default long putPatch(String sha256, byte[] body, int rawSize) throws IOException {
    return -1;
  }
}
