package dev.ephemera.archive;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileWritersTest {
  private static final FileTime T = FileTime.from(Instant.parse("2024-01-02T03:04:05Z"));

  @TempDir Path dir;

  @Test
  void filesFromRecycledAndFromForeignArraysAreWrittenWithTheirLengthOnly() throws Exception {
    // Arrays from buffer() are recycled by size class; any other array (a power of two below the smallest class, an
    // odd size, a class size) must be written the same and simply not recycled.
    try (FileWriters files = new FileWriters(2, 1 << 20)) {
      for (int round = 0; round < 3; round++) {
        for (int size : new int[] {0, 1, 64, 100, 4096, 5000, 70_000, 1 << 20}) {
          // round 0: foreign arrays; rounds 1 and 2: from buffer(), by round 2 mostly recycled ones
          byte[] content = round == 0 ? new byte[size] : files.buffer(size);
          Arrays.fill(content, (byte) 'x'); // a recycled array may be longer: only `size` bytes belong to the file
          Arrays.fill(content, 0, size, (byte) (size % 251));
          files.write(dir.resolve(round + "-" + size), content, size, 0644, T, T);
        }
      }
      files.finish();
    }
    for (int round = 0; round < 3; round++) {
      for (int size : new int[] {0, 1, 64, 100, 4096, 5000, 70_000, 1 << 20}) {
        byte[] expected = new byte[size];
        Arrays.fill(expected, (byte) (size % 251));
        Path f = dir.resolve(round + "-" + size);
        assertThat(Files.readAllBytes(f)).as(f.toString()).isEqualTo(expected);
        assertThat(Files.getLastModifiedTime(f)).isEqualTo(T);
      }
    }
  }

  @Test
  void writeFullyHandsTheKernelPiecesOfAtMostWritePieceBytesAndWritesEveryByteOnce() throws Exception {
    byte[] data = new byte[3 * FileWriters.WRITE_PIECE + 12_345];
    new Random(7).nextBytes(data);
    Path f = dir.resolve("pieces");
    List<Integer> writes = new ArrayList<>();
    try (SeekableByteChannel file = Files.newByteChannel(f, java.nio.file.StandardOpenOption.CREATE_NEW,
            java.nio.file.StandardOpenOption.WRITE)) {
      // A channel that also writes less than it is offered (as write(2) may): writeFully must go on from there.
      SeekableByteChannel recording =
          (SeekableByteChannel)
              java.lang.reflect.Proxy.newProxyInstance(
                  getClass().getClassLoader(),
                  new Class<?>[] {SeekableByteChannel.class},
                  (proxy, method, args) -> {
                    if (method.getName().equals("write")) {
                      ByteBuffer b = (ByteBuffer) args[0];
                      writes.add(b.remaining());
                      int limit = b.limit();
                      b.limit(b.position() + Math.min(b.remaining(), 50_000));
                      int n = file.write(b);
                      b.limit(limit);
                      return n;
                    }
                    return method.invoke(file, args);
                  });
      // from an offset, to a limit short of the array's end: only [100, length - 7) is written
      FileWriters.writeFully(recording, ByteBuffer.wrap(data, 100, data.length - 107));
    }
    assertThat(Files.readAllBytes(f)).isEqualTo(Arrays.copyOfRange(data, 100, data.length - 7));
    assertThat(writes).allSatisfy(n -> assertThat(n).isPositive().isLessThanOrEqualTo(FileWriters.WRITE_PIECE));
    assertThat(writes.size()).isGreaterThan(4);
  }
}
