package dev.ephemera.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ephemera.archive.Manifest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class ApiClientTest {
  private static final String A = "a".repeat(64);
  private static final String B = "b".repeat(64);

  private static Manifest manifest() {
    return new Manifest(
        Manifest.VERSION,
        "/home/build/.cargo/registry",
        List.of(new Manifest.Chunk(A, 1000, 400), new Manifest.Chunk(B, 24, 20)),
        List.of(
            new Manifest.FileEntry("src", Manifest.EntryType.DIR, 0, 0755, Instant.EPOCH, null, null),
            new Manifest.FileEntry("src/lib.rs", Manifest.EntryType.FILE, 3, 0644, Instant.ofEpochSecond(1, 5), A, null)),
        B,
        1024,
        A,
        420,
        1,
        List.of("one warning"));
  }

  @Test
  void aManifestIsReadWithoutItsFilesWhetherTheWorkerSentThemOrNot() throws IOException {
    Manifest full = manifest();
    Manifest read = ApiClient.withoutFiles(full.toJson().getBytes(StandardCharsets.UTF_8));
    assertThat(read.files()).isEmpty();
    assertThat(read.chunks()).isEqualTo(full.chunks());
    assertThat(read.root()).isEqualTo(full.root());
    assertThat(read.tarSha256()).isEqualTo(full.tarSha256());
    assertThat(read.tarSize()).isEqualTo(full.tarSize());
    assertThat(read.archiveSha256()).isEqualTo(full.archiveSha256());
    assertThat(read.fileCount()).isEqualTo(full.fileCount());
    assertThat(read.warnings()).isEqualTo(full.warnings());

    String withoutFiles = full.toJson().replaceAll("\"files\":\\[[^\\]]*\\],", "");
    assertThat(withoutFiles).doesNotContain("files").contains("chunks");
    assertThat(ApiClient.withoutFiles(full.toJson().getBytes(StandardCharsets.UTF_8)))
        .isEqualTo(ApiClient.withoutFiles(withoutFiles.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void aRestoredSetsChunksAndFileDigestsAreReadFromItsManifest() throws IOException {
    var restored = ApiClient.restoredManifest(manifest().toJson().getBytes(StandardCharsets.UTF_8));
    assertThat(restored.chunks()).containsExactly(A, B);
    assertThat(restored.fileSha256()).containsExactly(java.util.Map.entry("src/lib.rs", A));
  }

  @Test
  void anInvalidManifestIsAnIoFailureNamingTheProblem() {
    String bad = manifest().toJson().replace("\"tar_size\":1024", "\"tar_size\":7");
    assertThatThrownBy(() -> ApiClient.withoutFiles(bad.getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("tar_size");
    assertThatThrownBy(() -> ApiClient.withoutFiles("[]".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(IOException.class);
  }
}
