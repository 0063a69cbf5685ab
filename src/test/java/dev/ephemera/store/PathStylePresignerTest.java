package dev.ephemera.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.signer.AwsS3V4Signer;
import software.amazon.awssdk.auth.signer.params.Aws4PresignerParams;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.regions.Region;

/** The presigner's URLs are, parameter for parameter and signature for signature, the SDK's own S3 signer's. */
class PathStylePresignerTest {

  @ParameterizedTest
  @CsvSource({
    "GET, http://127.0.0.1:9000, ephemera, ci/chunks/0123abcd, us-east-1, false, 600",
    "PUT, http://127.0.0.1:9000, ephemera, ci/chunks/0123abcd, us-east-1, false, 900",
    "GET, https://minio.example.org, cache-bucket, manifests/01M8Z98S1HJJJAM0C5YJP1EJ3X.json, eu-west-2, true, 604800",
    "PUT, http://store.internal:80, b, a/b c+d~e_f.g-h, auto, true, 1",
    "GET, https://s3.example.org:8443, b.with.dots, k%y=z&w, ap-south-1, false, 3600",
    "PUT, http://store.internal:80, b, simple/key, auto, true, 1",
    "GET, https://s3.example.org:8443, b.with.dots, simple/key, ap-south-1, false, 3600",
    "GET, https://s3.example.org, b.with.dots, k%y=z&w, ap-south-1, false, 3600",
    "HEAD, http://127.0.0.1:9000, ephemera, ci/chunks/0123abcd, us-east-1, true, 900",
  })
  void signsAsTheSdkSignerDoes(
      String method, String endpoint, String bucket, String key, String region, boolean session, long seconds) {
    AwsCredentials credentials =
        session
            ? AwsSessionCredentials.create("ASIAEXAMPLE", "secret/with+chars", "token/with+and=signs")
            : AwsBasicCredentials.create("AKIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    Instant now = Instant.parse("2026-12-04T01:02:03Z");
    URI ours =
        new PathStylePresigner(URI.create(endpoint), bucket, region, () -> credentials)
            .presign(method, key, Duration.ofSeconds(seconds), now);

    URI base = URI.create(endpoint);
    SdkHttpFullRequest request =
        SdkHttpFullRequest.builder()
            .method(SdkHttpMethod.fromValue(method))
            .protocol(base.getScheme())
            .host(base.getHost())
            .port(base.getPort() == -1 ? null : base.getPort())
            .encodedPath("/" + bucket + "/" + PathStylePresigner.encode(key, true))
            .build();
    SdkHttpFullRequest signed =
        AwsS3V4Signer.create()
            .presign(
                request,
                Aws4PresignerParams.builder()
                    .awsCredentials(credentials)
                    .signingName("s3")
                    .doubleUrlEncode(false) // as the SDK's S3 presigner: S3 paths are encoded once, never normalised
                    .normalizePath(false)
                    .signingRegion(Region.of(region))
                    .expirationTime(now.plusSeconds(seconds))
                    .signingClockOverride(Clock.fixed(now, ZoneOffset.UTC))
                    .build());
    URI theirs = signed.getUri();

    assertThat(ours.getScheme() + "://" + ours.getRawAuthority() + ours.getRawPath())
        .isEqualTo(theirs.getScheme() + "://" + theirs.getRawAuthority() + theirs.getRawPath());
    assertThat(params(ours)).isEqualTo(params(theirs)).containsKey("X-Amz-Signature");
  }

  private static Map<String, String> params(URI uri) {
    return Arrays.stream(uri.getRawQuery().split("&"))
        .map(p -> p.split("=", 2))
        .collect(Collectors.toMap(p -> p[0], p -> p[1], (a, b) -> a, TreeMap::new));
  }
}
