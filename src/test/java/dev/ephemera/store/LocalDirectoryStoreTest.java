package dev.ephemera.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The contract against a temporary directory, plus what is particular to files on disk. */
class LocalDirectoryStoreTest extends ObjectStoreContract {

  private Path root;

  @Override
  protected ObjectStore newStore() {
    root = scratch.resolve("store");
    return new LocalDirectoryStore(root);
  }

  @Override
  protected boolean signsUrls() {
    return false;
  }

  @Test
  void theConstructorTouchesNothingOnDisk() {
    Path missing = scratch.resolve("not/yet");

    LocalDirectoryStore unchecked = new LocalDirectoryStore(missing);
    unchecked.close();

    assertThat(unchecked.root()).isEqualTo(missing);
    assertThat(missing).doesNotExist();
  }

  @Test
  void checkCreatesTheRootDirectory() {
    store.check();

    assertThat(root).isDirectory();
  }

  @Test
  void checkFailsPermanentlyWhenTheRootIsAFile() throws IOException {
    Path file = Files.writeString(scratch.resolve("a-file"), "x");

    try (LocalDirectoryStore onFile = new LocalDirectoryStore(file)) {
      assertThatThrownBy(onFile::check)
          .isInstanceOf(ObjectStoreException.class)
          .hasMessageContaining(file.toString())
          .satisfies(e -> assertThat(((ObjectStoreException) e).isTransient()).isFalse());
    }
  }

  @Test
  void keysAreFilesUnderTheRoot() {
    store.put("chunks/abc", new byte[] {1, 2, 3});

    assertThat(root.resolve("chunks").resolve("abc")).hasBinaryContent(new byte[] {1, 2, 3});
  }

  @Test
  void leftoverTemporaryFilesAreNeitherListedNorObjects() throws IOException {
    store.put("chunks/abc", new byte[] {1});
    // what a put interrupted by a crash leaves behind
    Files.write(root.resolve("chunks").resolve(".~tmp-0b9f6c1e-crash"), new byte[] {9});

    try (Stream<String> keys = store.list("")) {
      assertThat(keys).containsExactly("chunks/abc");
    }
  }

  @Test
  void aFileInTheWayOfADirectoryFailsThePutWithAStoreError() {
    store.put("chunks", new byte[] {1});

    assertThatThrownBy(() -> store.put("chunks/abc", new byte[] {2}))
        .isInstanceOf(ObjectStoreException.class)
        .hasMessageContaining("chunks/abc");
  }
}
