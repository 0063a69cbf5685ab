package dev.ephemera.archive;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** A chunk store in memory, both sides of the interfaces, counting what it was asked. */
final class InMemoryChunkStore implements ChunkSink, ChunkSource {
  final Map<String, byte[]> frames = new ConcurrentHashMap<>();
  final AtomicInteger puts = new AtomicInteger();
  final AtomicInteger fetches = new AtomicInteger();

  @Override
  public Map<String, Long> present(Collection<String> sha256s) {
    Map<String, Long> out = new HashMap<>();
    for (String s : sha256s) {
      byte[] f = frames.get(s);
      if (f != null) {
        out.put(s, (long) f.length);
      }
    }
    return out;
  }

  @Override
  public void put(String sha256, byte[] frame, int rawSize) {
    puts.incrementAndGet();
    frames.put(sha256, frame);
  }

  @Override
  public byte[] fetch(String sha256) {
    fetches.incrementAndGet();
    return frames.get(sha256);
  }
}
