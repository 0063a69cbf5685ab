package dev.ephemera.catalog;

import java.util.Objects;

/**
 * One chunk of a set's tar stream, in order ({@code set_chunks} table).
 *
 * @param ord         0-based position of the chunk in the stream
 * @param chunkSha256 sha256 of the raw (uncompressed) chunk: its key in the object store
 * @param rawOffset   offset of the chunk in the uncompressed tar stream
 * @param storedSize  size of the chunk's zstd frame as stored
 */
public record ChunkRefRow(int ord, String chunkSha256, long rawOffset, long rawSize, long storedSize) {
  public ChunkRefRow {
    Objects.requireNonNull(chunkSha256, "chunkSha256");
    if (ord < 0 || rawOffset < 0 || rawSize < 0 || storedSize < 0) {
      throw new IllegalArgumentException("ord, offsets and sizes must not be negative");
    }
  }
}
