package dev.ephemera.archive;

import java.io.IOException;

/**
 * Where restores get chunks from (the caller does HTTP or reads an object store, with its own
 * timeouts and retries). May be called from several threads at once. What it returns is never
 * trusted: every frame is decompressed with a size cap and checked against its hash before use.
 */
@FunctionalInterface
public interface ChunkSource {

  /** The stored zstd frame of the chunk whose raw bytes hash to {@code sha256}. */
  byte[] fetch(String sha256) throws IOException;
}
