package dev.ephemera.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** What the S3 store does without a server: configuration, construction, and failing to connect. */
class S3ObjectStoreTest {

  /** Port 1 on loopback: nothing listens there, so a connection is refused at once. */
  private static final S3Config UNREACHABLE =
      new S3Config(
          URI.create("http://127.0.0.1:1"),
          "us-east-1",
          "ephemera",
          "ci/",
          true,
          "access",
          "hunter2-secret-key");

  @Test
  void constructionSendsNoRequestSoAnUnreachableStoreCanBeBuilt() {
    try (S3ObjectStore store = new S3ObjectStore(UNREACHABLE)) {
      assertThat(store.describe()).isEqualTo("s3://ephemera/ci/ at http://127.0.0.1:1");
    }
  }

  @Test
  void aPutToAnUnreachableEndpointFailsTransientlyAfterItsRetries() {
    try (S3ObjectStore store = new S3ObjectStore(UNREACHABLE)) {
      long t0 = System.nanoTime();
      assertThatThrownBy(() -> store.put("chunks/abc", new byte[] {1}))
          .isInstanceOf(ObjectStoreException.class)
          .hasMessageContaining("put chunks/abc in s3://ephemera/ci/")
          .satisfies(e -> assertThat(((ObjectStoreException) e).isTransient()).as("worth retrying").isTrue());
      assertThat(Duration.ofNanos(System.nanoTime() - t0))
          .as("backed off between attempts")
          .isGreaterThan(Duration.ofMillis(250));
    }
  }

  @Test
  void aReadFromAnUnreachableEndpointFailsTransientlyRatherThanFindingNothing() {
    try (S3ObjectStore store = new S3ObjectStore(UNREACHABLE)) {
      assertThatThrownBy(() -> store.getBytes("chunks/abc"))
          .isInstanceOf(ObjectStoreException.class)
          .isNotInstanceOf(NoSuchObjectException.class)
          .hasMessageContaining("read chunks/abc in s3://ephemera/ci/")
          .satisfies(e -> assertThat(((ObjectStoreException) e).isTransient()).as("worth retrying").isTrue());
    }
  }

  @Test
  void checkAgainstAnUnreachableEndpointFailsTransiently() {
    try (S3ObjectStore store = new S3ObjectStore(UNREACHABLE)) {
      assertThatThrownBy(store::check)
          .isInstanceOf(ObjectStoreException.class)
          .hasMessageContaining("s3://ephemera/ci/")
          .satisfies(
              e ->
                  assertThat(((ObjectStoreException) e).isTransient())
                      .as("worth retrying")
                      .isTrue());
    }
  }

  @Test
  void presigningNeedsNoServerAndSignsTheKeyUnderTheConfiguredPrefix() {
    try (S3ObjectStore store = new S3ObjectStore(UNREACHABLE)) {
      URI url = store.presignGet("chunks/abc", Duration.ofMinutes(10)).orElseThrow();

      assertThat(url.toString())
          .startsWith("http://127.0.0.1:1/ephemera/ci/chunks/abc?")
          .contains("X-Amz-Expires=600");
    }
  }

  @Test
  void presignedUrlsCannotOutliveSevenDays() {
    try (S3ObjectStore store = new S3ObjectStore(UNREACHABLE)) {
      assertThatThrownBy(() -> store.presignGet("chunks/abc", Duration.ofDays(30)))
          .hasMessageContaining("7 days");
      assertThatThrownBy(() -> store.presignPut("chunks/abc", Duration.ZERO))
          .hasMessageContaining("7 days");
    }
  }

  @Test
  void configRejectsHalfCredentialsAndPrefixesWithoutATrailingSlash() {
    assertThatThrownBy(() -> new S3Config(null, "us-east-1", "b", "", false, "access", null))
        .hasMessageContaining("both");
    assertThatThrownBy(() -> new S3Config(null, "us-east-1", "b", "ci", false, null, null))
        .hasMessageContaining("end with '/'");
    assertThatThrownBy(() -> new S3Config(null, "us-east-1", "b", "/ci/", false, null, null))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new S3Config(null, " ", "b", "", false, null, null))
        .hasMessageContaining("region");
    assertThatThrownBy(
            () ->
                new S3Config(URI.create("localhost:9000"), "us-east-1", "b", "", false, null, null))
        .hasMessageContaining("absolute URL");
  }

  @Test
  void configWithoutCredentialsUsesTheDefaultChainAndANullPrefixMeansNone() {
    S3Config config = new S3Config(null, "eu-west-1", "b", null, false, null, null);

    assertThat(config.prefix()).isEmpty();
    assertThat(config.hasStaticCredentials()).isFalse();
  }

  @Test
  void configNeverPrintsTheSecretKey() {
    assertThat(UNREACHABLE.toString()).doesNotContain("hunter2").contains("****");
  }
}
