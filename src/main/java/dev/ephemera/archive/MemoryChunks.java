package dev.ephemera.archive;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Chunks kept in memory, both sides of the interfaces: for {@code ephemera selftest} and tests, not for sets. */
public class MemoryChunks implements ChunkSink, ChunkSource {
  /** The stored frames by chunk name. */
  final Map<String, byte[]> frames = new ConcurrentHashMap<>();

  @Override
  public Map<String, Long> present(Collection<String> sha256s) {
    Map<String, Long> present = new LinkedHashMap<>();
    for (String sha : sha256s) {
      byte[] f = frames.get(sha);
      if (f != null) {
        present.put(sha, (long) f.length);
      }
    }
    return present;
  }

  @Override
  public void put(String sha256, byte[] frame, int rawSize) {
    frames.put(sha256, frame);
  }

  @Override
  public byte[] fetch(String sha256) {
    return frames.get(sha256);
  }
}
