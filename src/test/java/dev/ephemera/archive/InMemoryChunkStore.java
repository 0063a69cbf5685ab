package dev.ephemera.archive;

import java.util.concurrent.atomic.AtomicInteger;

/** A chunk store in memory, both sides of the interfaces, counting what it was asked. */
final class InMemoryChunkStore extends MemoryChunks {
  final AtomicInteger puts = new AtomicInteger();
  final AtomicInteger fetches = new AtomicInteger();
  final AtomicInteger presents = new AtomicInteger();

  @Override
  public java.util.Map<String, Long> present(java.util.Collection<String> sha256s) {
    presents.incrementAndGet();
    return super.present(sha256s);
  }

  @Override
  public void put(String sha256, byte[] frame, int rawSize) {
    puts.incrementAndGet();
    super.put(sha256, frame, rawSize);
  }

  @Override
  public byte[] fetch(String sha256) {
    fetches.incrementAndGet();
    return super.fetch(sha256);
  }
}
