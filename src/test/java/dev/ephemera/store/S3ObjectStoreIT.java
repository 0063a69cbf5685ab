package dev.ephemera.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ephemera.testing.RealServices;
import dev.ephemera.testing.S3Endpoint;
import dev.ephemera.testing.TestServices;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The contract against a real S3 API (S3Proxy, or {@code EPHEMERA_TEST_S3_ENDPOINT}), each test in
 * a fresh bucket and under a key prefix, plus what only S3 has: multipart uploads, a missing
 * bucket, wrong credentials, foreign objects in a shared bucket.
 */
@ExtendWith(RealServices.class)
class S3ObjectStoreIT extends ObjectStoreContract {

  private static final String PREFIX = "ephemera/";

  private final TestServices services;
  private String bucket;

  S3ObjectStoreIT(TestServices services) {
    this.services = services;
  }

  private S3Config config(String bucket, String secretKey) {
    S3Endpoint s3 = services.s3();
    return new S3Config(
        s3.endpoint(), s3.region(), bucket, PREFIX, true, s3.accessKey(), secretKey);
  }

  @Override
  protected ObjectStore newStore() {
    bucket = services.freshBucket();
    return new S3ObjectStore(config(bucket, services.s3().secretKey()));
  }

  /**
   * S3Proxy's in-memory backend writes an object's content before its attributes, so a GET that lands in between is
   * answered 400 "attribute 'user:user.cache-control' is not set" (seen once in a clean-clone CI run). S3 itself answers
   * the old object or the new one; what the contract checks, that no reader ever gets a partial object, still holds.
   */
  @Override
  protected boolean serverRaceWhileOverwritten(ObjectStoreException e) {
    return e.getMessage() != null && e.getMessage().contains("HTTP 400") && e.getMessage().contains("is not set");
  }

  @Override
  protected boolean signsUrls() {
    return true;
  }

  @Test
  void aFileAboveTheMultipartThresholdIsUploadedInPartsAndReadBackUnchanged() throws Exception {
    byte[] bytes = randomBytes(12 * 1024 * 1024 + 5, 10);
    Path file = Files.write(scratch.resolve("big.bin"), bytes);
    long fiveMiB = S3ObjectStore.MIN_PART_SIZE;

    try (S3ObjectStore multipart =
        new S3ObjectStore(config(bucket, services.s3().secretKey()), fiveMiB, fiveMiB)) {
      multipart.put("chunks/big", file);

      assertThat(multipart.size("chunks/big")).hasValue(bytes.length);
      assertThat(sha256(readAll(multipart.open("chunks/big")))).isEqualTo(sha256(bytes));
      assertThat(readAll(multipart.openRange("chunks/big", fiveMiB - 2, 4)))
          .containsExactly(
              bytes[(int) fiveMiB - 2],
              bytes[(int) fiveMiB - 1],
              bytes[(int) fiveMiB],
              bytes[(int) fiveMiB + 1]);
    }
    try (S3Client raw = services.s3Client()) {
      assertThat(raw.listMultipartUploads(r -> r.bucket(bucket)).uploads())
          .as("no upload is left open")
          .isEmpty();
    }
  }

  @Test
  void keysLiveUnderTheConfiguredPrefixAndForeignObjectsAreNotListed() {
    store.put("chunks/abc", new byte[] {1});
    try (S3Client raw = services.s3Client()) {
      raw.putObject(
          r -> r.bucket(bucket).key("someone-else/chunks/abd"),
          RequestBody.fromBytes(new byte[] {2}));
      raw.putObject(
          r -> r.bucket(bucket).key(PREFIX + "chunks/not a key"),
          RequestBody.fromBytes(new byte[] {3}));

      assertThat(raw.headObject(r -> r.bucket(bucket).key(PREFIX + "chunks/abc")).contentLength())
          .isEqualTo(1);
    }

    try (Stream<String> keys = store.list("")) {
      assertThat(keys).containsExactly("chunks/abc");
    }
  }

  @Test
  void checkOnAMissingBucketFailsPermanentlyAndNamesTheBucket() {
    try (S3ObjectStore missing =
        new S3ObjectStore(config("no-such-bucket-here", services.s3().secretKey()))) {
      assertThatThrownBy(missing::check)
          .isInstanceOf(ObjectStoreException.class)
          .isNotInstanceOf(NoSuchObjectException.class)
          .hasMessageContaining("bucket no-such-bucket-here does not exist")
          .satisfies(e -> assertThat(((ObjectStoreException) e).isTransient()).isFalse());
    }
  }

  @Test
  void aPutIntoAMissingBucketFailsPermanentlyWithTheStoresAnswer() {
    // Over plain HTTP a byte-array put is a presigned PUT on a plain connection, not an SDK call: its failures must
    // still be the store's exceptions, permanent when retrying cannot help.
    try (S3ObjectStore missing =
        new S3ObjectStore(config("no-such-bucket-here", services.s3().secretKey()))) {
      assertThatThrownBy(() -> missing.put("chunks/abc", new byte[] {1, 2, 3}))
          .isInstanceOf(ObjectStoreException.class)
          .hasMessageContaining("put chunks/abc")
          .hasMessageContaining("NoSuchBucket")
          .satisfies(e -> assertThat(((ObjectStoreException) e).isTransient()).isFalse());
      // and a read from it is that failure too, not a missing object
      assertThatThrownBy(() -> missing.getBytes("chunks/abc"))
          .isInstanceOf(ObjectStoreException.class)
          .isNotInstanceOf(NoSuchObjectException.class)
          .hasMessageContaining("read chunks/abc")
          .hasMessageContaining("NoSuchBucket")
          .satisfies(e -> assertThat(((ObjectStoreException) e).isTransient()).isFalse());
    }
  }

  @Test
  void aPresignedUrlServesOnlyWhatItWasSignedFor() throws Exception {
    store.put("chunks/abc", new byte[] {1, 2, 3});
    store.put("chunks/abd", new byte[] {4});
    String url = store.presignGet("chunks/abc", java.time.Duration.ofMinutes(5)).orElseThrow().toString();
    var http = java.net.http.HttpClient.newHttpClient();
    java.util.function.Function<String, Integer> status =
        u -> {
          try {
            return http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(u)).GET().build(),
                java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
          } catch (Exception e) {
            throw new AssertionError(e);
          }
        };

    assertThat(status.apply(url)).isEqualTo(200);
    assertThat(status.apply(url.replace("chunks/abc", "chunks/abd"))).as("another key").isEqualTo(403);
    assertThat(status.apply(url.replace("X-Amz-Expires=300", "X-Amz-Expires=301"))).as("a longer life").isEqualTo(403);
    String put = store.presignPut("chunks/abc", java.time.Duration.ofMinutes(5)).orElseThrow().toString();
    assertThat(status.apply(put)).as("a PUT URL used to GET").isEqualTo(403);
  }

  @Test
  void wrongCredentialsFailPermanently() {
    try (S3ObjectStore wrong = new S3ObjectStore(config(bucket, "not-the-secret"))) {
      assertThatThrownBy(() -> wrong.put("chunks/abc", new byte[] {1}))
          .isInstanceOf(ObjectStoreException.class)
          .satisfies(e -> assertThat(((ObjectStoreException) e).isTransient()).isFalse());
      store.put("chunks/abc", new byte[] {1});
      assertThatThrownBy(() -> wrong.getBytes("chunks/abc"))
          .isInstanceOf(ObjectStoreException.class)
          .isNotInstanceOf(NoSuchObjectException.class)
          .satisfies(e -> assertThat(((ObjectStoreException) e).isTransient()).isFalse());
      assertThatThrownBy(() -> wrong.size("chunks/abc"))
          .isInstanceOf(ObjectStoreException.class)
          .satisfies(e -> assertThat(((ObjectStoreException) e).isTransient()).isFalse());
      assertThatThrownBy(wrong::check).isInstanceOf(ObjectStoreException.class);
    }
  }
}
