package dev.ephemera.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ephemera.config.EphemeraConfig;
import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ObjectStoresTest {

  private static EphemeraConfig.Store store(String kind, String prefix, Optional<String> secret) {
    return new EphemeraConfig.Store(
        kind,
        Path.of("/var/lib/ephemera/objects"),
        Optional.of(URI.create("http://minio:9000")),
        "us-east-1",
        "ci-cache",
        prefix,
        true,
        Optional.of("access"),
        secret,
        true);
  }

  @Test
  void theLocalKindIsADirectoryStoreAtTheConfiguredPath() {
    try (ObjectStore store = ObjectStores.fromConfig(store("local", "", Optional.of("secret")))) {
      assertThat(store).isInstanceOf(LocalDirectoryStore.class);
      assertThat(store.describe()).isEqualTo("local directory /var/lib/ephemera/objects");
    }
  }

  @Test
  void theS3KindIsAnS3StoreAndAPrefixGetsItsTrailingSlash() {
    try (ObjectStore store = ObjectStores.fromConfig(store("s3", "ci", Optional.of("secret")))) {
      assertThat(store).isInstanceOf(S3ObjectStore.class);
      assertThat(((S3ObjectStore) store).config().prefix()).isEqualTo("ci/");
      assertThat(store.describe()).isEqualTo("s3://ci-cache/ci/ at http://minio:9000");
    }
  }

  @Test
  void unusableS3SettingsAreReportedAsSuch() {
    assertThatThrownBy(() -> ObjectStores.fromConfig(store("s3", "", Optional.empty())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("s3.*")
        .hasMessageContaining("accessKey and secretKey");
    assertThatThrownBy(() -> ObjectStores.fromConfig(store("gcs", "", Optional.empty())))
        .hasMessageContaining("store.kind");
  }
}
