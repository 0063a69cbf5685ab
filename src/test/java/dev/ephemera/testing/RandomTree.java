package dev.ephemera.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.function.IntFunction;

/** Trees of incompressible files for integration tests: the same seed makes the same tree. */
public final class RandomTree {
  private RandomTree() {}

  /**
   * Writes {@code count} files of random bytes under {@code root}, file {@code i} at {@code name.apply(i)} with
   * {@code minSize} plus up to {@code spread} bytes.
   *
   * @return {@code root}
   */
  public static Path write(Path root, long seed, int count, int minSize, int spread, IntFunction<String> name)
      throws IOException {
    Random random = new Random(seed);
    for (int i = 0; i < count; i++) {
      byte[] data = new byte[minSize + random.nextInt(spread)];
      random.nextBytes(data);
      Path f = root.resolve(name.apply(i));
      Files.createDirectories(f.getParent());
      Files.write(f, data);
    }
    return root;
  }
}
