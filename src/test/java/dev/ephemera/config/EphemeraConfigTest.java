package dev.ephemera.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ephemera.archive.Limits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EphemeraConfigTest {
  private static final Map<String, String> SECRETS =
      Map.of("EPHEMERA_AUTH_ADMIN_TOKEN", "admin-token-0123456789", "EPHEMERA_AUTH_SIGNING_KEY", "k".repeat(32));

  @Test
  void laterLayersWinOverEarlierOnes(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("ephemera.toml");
    Files.writeString(file, "[kafka]\nbootstrap = \"file:9092\"\ngroup = \"from-file\"\n[http]\nport = 9000\n");
    var env = new java.util.HashMap<>(SECRETS);
    env.put("EPHEMERA_KAFKA_GROUP", "from-env");
    env.put("EPHEMERA_HTTP_PORT", "9001");
    Settings s = Settings.load(EphemeraConfig.DEFAULTS, Optional.of(file), env, Map.of("http.port", "9002"));
    EphemeraConfig config = EphemeraConfig.from(s);
    assertThat(config.kafka().bootstrap()).isEqualTo("file:9092");
    assertThat(config.kafka().group()).isEqualTo("from-env");
    assertThat(config.http().port()).isEqualTo(9002);
    assertThat(config.linkTtl()).isEqualTo(Duration.ofDays(30));
    assertThat(s.origins()).containsEntry("kafka.bootstrap", "file").containsEntry("http.port", "flag");
  }

  @Test
  void missingSecretsAreNamedWithTheirEnvironmentVariable() {
    Settings s = Settings.load(EphemeraConfig.DEFAULTS, Optional.empty(), Map.of(), Map.of());
    assertThatThrownBy(() -> EphemeraConfig.from(s))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("auth.admin-token")
        .hasMessageContaining("EPHEMERA_AUTH_ADMIN_TOKEN");
  }

  @Test
  void unknownKeysAndBadValuesAreRefusedWithTheKeyNamed(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("bad.toml");
    Files.writeString(file, "[kafka]\nbootstrapp = \"x\"\n");
    assertThatThrownBy(() -> Settings.load(EphemeraConfig.DEFAULTS, Optional.of(file), Map.of(), Map.of()))
        .hasMessageContaining("unknown setting 'kafka.bootstrapp'");
    var env = new java.util.HashMap<>(SECRETS);
    env.put("EPHEMERA_LINKS_TTL", "forever");
    Settings s = Settings.load(EphemeraConfig.DEFAULTS, Optional.empty(), env, Map.of());
    assertThatThrownBy(() -> EphemeraConfig.from(s)).hasMessageContaining("'links.ttl' must be a duration");
    env.put("EPHEMERA_LINKS_TTL", "7d");
    env.put("EPHEMERA_STORE_KIND", "s3");
    Settings s3 = Settings.load(EphemeraConfig.DEFAULTS, Optional.empty(), env, Map.of());
    assertThatThrownBy(() -> EphemeraConfig.from(s3)).hasMessageContaining("'s3.bucket' is required");
  }

  @Test
  void archiveLimitsTakeSizesAndRefuseWhatIsNotPositive() {
    var env = new java.util.HashMap<>(SECRETS);
    EphemeraConfig defaults =
        EphemeraConfig.from(Settings.load(EphemeraConfig.DEFAULTS, Optional.empty(), env, Map.of()));
    // the worker's defaults are the restore's: a set persisted within them restores without flags
    Limits restore = Limits.DEFAULTS;
    assertThat(defaults.archive())
        .isEqualTo(
            new EphemeraConfig.Archive(restore.maxEntries(), restore.maxTotalBytes(), restore.maxCompressionRatio()))
        .isEqualTo(new EphemeraConfig.Archive(1_000_000, 64L << 30, 1000));
    env.put("EPHEMERA_ARCHIVE_MAX_BYTES", "2TiB");
    env.put("EPHEMERA_ARCHIVE_MAX_ENTRIES", "5000000");
    EphemeraConfig more =
        EphemeraConfig.from(Settings.load(EphemeraConfig.DEFAULTS, Optional.empty(), env, Map.of()));
    assertThat(more.archive()).isEqualTo(new EphemeraConfig.Archive(5_000_000, 2L << 40, 1000));
    env.put("EPHEMERA_ARCHIVE_MAX_RATIO", "0");
    Settings zero = Settings.load(EphemeraConfig.DEFAULTS, Optional.empty(), env, Map.of());
    assertThatThrownBy(() -> EphemeraConfig.from(zero)).hasMessageContaining("'archive.max-ratio' must be positive");
    env.put("EPHEMERA_ARCHIVE_MAX_RATIO", "1000");
    env.put("EPHEMERA_ARCHIVE_MAX_BYTES", "lots");
    Settings lots = Settings.load(EphemeraConfig.DEFAULTS, Optional.empty(), env, Map.of());
    assertThatThrownBy(() -> EphemeraConfig.from(lots)).hasMessageContaining("'archive.max-bytes': not a size");
  }

  @Test
  void everySettingIsDocumentedInTheReadme() throws Exception {
    String readme = Files.readString(Path.of("README.md"));
    for (String key : EphemeraConfig.DEFAULTS.keySet()) {
      assertThat(readme).as("README documents %s", key).contains("`" + key + "`");
    }
  }

  @Test
  void durationsAcceptShortAndIsoForms() {
    assertThat(Settings.parseDuration("k", "250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(Settings.parseDuration("k", "24h")).isEqualTo(Duration.ofHours(24));
    assertThat(Settings.parseDuration("k", "PT5M")).isEqualTo(Duration.ofMinutes(5));
  }
}
