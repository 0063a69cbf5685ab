package dev.ephemera.archive;

import java.io.IOException;
import java.util.function.IntFunction;

/**
 * Where restores get chunks from (the caller does HTTP or reads an object store, with its own
 * timeouts and retries). May be called from several threads at once. What it returns is never
 * trusted: every frame is decompressed with a size cap and checked against its hash before use.
 */
@FunctionalInterface
public interface ChunkSource {

  /** The stored zstd frame of the chunk whose raw bytes hash to {@code sha256}. */
  byte[] fetch(String sha256) throws IOException;

  /** A fetched frame: its bytes are {@code bytes[0, length)}. */
  record Frame(byte[] bytes, int length) {}

  /**
   * As {@link #fetch(String)}, into an array that {@code arrays} gives for the frame's length (it may be longer) where
   * the source knows the length before it reads: a restore hands the array back to {@code arrays}' pool once it has
   * decompressed the frame, instead of leaving hundreds of megabyte-sized arrays to the collector. Null when {@link
   * #fetch(String)} would be.
   */
  default Frame fetch(String sha256, IntFunction<byte[]> arrays) throws IOException {
    byte[] frame = fetch(sha256);
    return frame == null ? null : new Frame(frame, frame.length);
  }
}
