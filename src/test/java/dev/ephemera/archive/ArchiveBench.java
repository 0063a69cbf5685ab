package dev.ephemera.archive;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A rough benchmark, not a test: persist (cold and warm) and restore a real tree through a
 * directory-backed chunk store, next to {@code tar | zstd -3 -T0} and {@code zstd -dc | tar -x}.
 *
 * <p>{@code java -Xmx256m -cp target/classes:target/test-classes:$(deps) dev.ephemera.archive.ArchiveBench TREE WORKDIR}
 */
public final class ArchiveBench {
  private ArchiveBench() {}

  /** Chunks as files under a directory. */
  record DirStore(Path dir) implements ChunkSink, ChunkSource {
    @Override
    public Map<String, Long> present(Collection<String> sha256s) throws IOException {
      Map<String, Long> out = new HashMap<>();
      for (String s : sha256s) {
        try {
          out.put(s, Files.size(dir.resolve(s)));
        } catch (NoSuchFileException e) {
          // absent
        }
      }
      return out;
    }

    @Override
    public void put(String sha256, byte[] frame, int rawSize) throws IOException {
      Path tmp = dir.resolve(sha256 + ".tmp");
      Files.write(tmp, frame);
      Files.move(tmp, dir.resolve(sha256), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    @Override
    public byte[] fetch(String sha256) throws IOException {
      return Files.readAllBytes(dir.resolve(sha256));
    }
  }

  public static void main(String[] args) throws Exception {
    Path tree = Path.of(args[0]).toAbsolutePath();
    Path work = Path.of(args[1]).toAbsolutePath();
    Restorer.deleteTree(work);
    Path store = Files.createDirectories(work.resolve("chunks"));
    DirStore chunks = new DirStore(store);
    List<String> selection = Trees.selection(tree);
    System.out.printf("tree %s: %d paths%n", tree, selection.size());

    long t0 = System.nanoTime();
    var cold = new ArchiveWriter(ArchiveWriter.Options.defaults()).write(tree, selection, chunks);
    double coldS = secs(t0);
    System.out.printf("persist cold: %.2f s, tar %d MB -> stored %d MB in %d chunks, peak heap %d MB%n", coldS,
        cold.manifest().tarSize() >> 20, cold.bytesUploaded() >> 20, cold.chunksUploaded(), peakHeapMb());

    if (args.length > 2 && args[2].equals("persist-only")) {
      Restorer.deleteTree(work);
      return;
    }
    t0 = System.nanoTime();
    var warm = new ArchiveWriter(ArchiveWriter.Options.defaults()).write(tree, selection, chunks);
    System.out.printf("persist warm: %.2f s, uploaded %d chunks, reused %d%n", secs(t0), warm.chunksUploaded(),
        warm.chunksReused());

    t0 = System.nanoTime();
    var restored =
        new Restorer(Restorer.Options.defaults()).restore(cold.manifest(), chunks, work.resolve("restored"));
    System.out.printf("restore: %.2f s, %d entries, %d MB, peak heap %d MB%n", secs(t0), restored.entries(),
        restored.fileBytes() >> 20, peakHeapMb());

    t0 = System.nanoTime();
    Trees.sh(work, "tar -cf - -C '" + tree + "' . | zstd -q -3 -T0 > baseline.tar.zst");
    double baseS = secs(t0);
    System.out.printf("baseline tar | zstd -3 -T0: %.2f s, %d MB (persist cold ratio %.2f)%n", baseS,
        Files.size(work.resolve("baseline.tar.zst")) >> 20, coldS / baseS);
    Files.createDirectories(work.resolve("baseline-out"));
    t0 = System.nanoTime();
    Trees.sh(work, "zstd -dc baseline.tar.zst | tar -xf - -C baseline-out");
    System.out.printf("baseline zstd -dc | tar -x: %.2f s%n", secs(t0));
    Restorer.deleteTree(work);
  }

  private static double secs(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }

  private static long peakHeapMb() {
    long peak = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        peak += pool.getPeakUsage().getUsed();
      }
    }
    return peak >> 20;
  }
}
