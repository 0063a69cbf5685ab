package dev.ephemera.archive;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Small files are written by a pool while the stream is parsed on: what lands on disk must not depend on it. Links come
 * after their targets, directories before their files, every mode (those the umask would strip too) and mtime exact,
 * and the memory bound holds with files larger than it.
 */
class ParallelExtractionTest {
  @TempDir Path tmp;

  private static byte[] archive() {
    Random random = new Random(7);
    HandTar tar = new HandTar();
    int[] modes = {0644, 0755, 0600, 0666, 0777, 0400, 0444, 0700, 01755, 0000};
    for (int i = 0; i < 600; i++) {
      byte[] content = new byte[random.nextInt(i % 50 == 0 ? 300_000 : 5_000)];
      random.nextBytes(content);
      tar.file("d" + (i % 9) + "/e" + (i % 4) + "/f" + i, content, modes[i % modes.length] == 0 ? 0 : modes[i % modes.length]);
      if (i % 97 == 5) {
        tar.hardlink("links/h" + i, "d" + (i % 9) + "/e" + (i % 4) + "/f" + i);
      }
      if (i % 101 == 3) {
        tar.symlink("d" + (i % 9) + "/s" + i, "e" + (i % 4) + "/f" + i);
      }
    }
    byte[] big = new byte[SafeExtractor.POOLED_FILE_MAX + 12345];
    random.nextBytes(big);
    tar.file("big/one", big, 0640);
    tar.file("big/after", "small after a big one");
    tar.hardlink("big/link-to-last", "big/after");
    return tar.end().bytes();
  }

  private Map<String, String> extracted(int writers, String dir) throws IOException {
    Path staging = Files.createDirectories(tmp.resolve(dir));
    SafeExtractor.Extraction x =
        new SafeExtractor(Limits.DEFAULTS, writers).extract(new ByteArrayInputStream(archive()), staging);
    assertThat(x.fileBytes()).isGreaterThan(SafeExtractor.POOLED_FILE_MAX);
    return Trees.snapshot(staging, false);
  }

  @Test
  void writerThreadsLeaveExactlyWhatTheCallersThreadWrites() throws IOException {
    Map<String, String> serial = extracted(0, "serial");
    Map<String, String> parallel = extracted(4, "parallel");
    assertThat(parallel).isEqualTo(serial);
    assertThat(serial).hasSizeGreaterThan(600);
    assertThat(serial.get("d0/e0/f0")).startsWith("file 644 mtime 2023-11-14T22:13:20Z");
    assertThat(serial.get("d4/e0/f4")).startsWith("file 777 ");
    assertThat(serial.get("d3/e3/f3")).startsWith("file 666 ");
    assertThat(serial.get("d0/e1/f9")).startsWith("file 0 ");
    assertThat(serial.get("d8/e0/f8")).startsWith("file 1755 ");
    assertThat(serial.get("links/h5")).isEqualTo(serial.get("d5/e1/f5"));
    assertThat(serial.get("big/link-to-last")).isEqualTo(serial.get("big/after"));
  }

  @Test
  void aRefusalAfterPooledWritesStopsTheWritersBeforeItIsReported() throws IOException {
    HandTar tar = new HandTar();
    for (int i = 0; i < 2000; i++) {
      tar.file("many/f" + i, "x".repeat(i % 300));
    }
    byte[] bytes = tar.file("/etc/evil", "x").end().bytes();
    Path staging = Files.createDirectories(tmp.resolve("refused"));
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> new SafeExtractor(Limits.DEFAULTS, 4).extract(new ByteArrayInputStream(bytes), staging))
        .isInstanceOf(ArchiveException.class)
        .hasMessageContaining("/etc/evil");
    // no writer is left running: the staging directory can be deleted and stays deleted
    Restorer.deleteTree(staging);
    assertThat(staging).doesNotExist();
  }
}
