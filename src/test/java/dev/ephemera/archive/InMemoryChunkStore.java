package dev.ephemera.archive;

import com.github.luben.zstd.Zstd;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A chunk store in memory, both sides of the interfaces, counting what it was asked. It takes chunk patches against the
 * sets {@link #sets} names, rebuilding and checking them as the worker does.
 */
final class InMemoryChunkStore extends MemoryChunks {
  final AtomicInteger puts = new AtomicInteger();
  final AtomicInteger fetches = new AtomicInteger();
  final AtomicInteger presents = new AtomicInteger();
  final AtomicInteger patches = new AtomicInteger();
  /** Patches that did not rebuild their chunk (or named no known set): refused, as the worker refuses them. */
  final AtomicInteger badPatches = new AtomicInteger();
  /** The chunks of the sets patches may copy from, by set id. */
  final Map<String, List<Manifest.Chunk>> sets = new ConcurrentHashMap<>();

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
  public long putPatch(String sha256, byte[] body, int rawSize) throws IOException {
    try {
      ChunkPatch patch = ChunkPatch.decode(sha256, body);
      List<Manifest.Chunk> chunks = sets.get(patch.base());
      if (chunks == null) {
        badPatches.incrementAndGet();
        return -1;
      }
      String[] shas = chunks.stream().map(Manifest.Chunk::sha256).toArray(String[]::new);
      long[] starts = new long[shas.length + 1];
      for (int i = 0; i < shas.length; i++) {
        starts[i + 1] = starts[i] + chunks.get(i).rawSize();
      }
      byte[] raw =
          patch.apply(ChunkPatch.stream(patch.base(), shas, starts, sha -> Zstd.decompress(frames.get(sha), (int) Zstd.getFrameContentSize(frames.get(sha)))));
      ChunkFrames.verifyRaw(sha256, raw);
      byte[] frame = ChunkFrames.frame(raw, 3);
      frames.put(sha256, frame);
      patches.incrementAndGet();
      return frame.length;
    } catch (ArchiveException e) {
      badPatches.incrementAndGet();
      return -1;
    }
  }

  @Override
  public byte[] fetch(String sha256) {
    fetches.incrementAndGet();
    return super.fetch(sha256);
  }
}
