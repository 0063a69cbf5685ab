package dev.ephemera.store;

import java.net.URI;
import java.util.Objects;

/**
 * Where and how {@link S3ObjectStore} reaches its bucket.
 *
 * @param endpoint the S3 API endpoint ({@code http://localhost:9000}, a MinIO or Ceph gateway), or
 *     null for AWS's regional endpoint
 * @param region the signing region ({@code us-east-1} for most S3-compatible stores)
 * @param bucket the bucket, which must exist
 * @param prefix prepended to every key, so several deployments can share a bucket; empty for none,
 *     otherwise a valid key prefix ending in {@code /}
 * @param pathStyle {@code http://host/bucket/key} addressing instead of {@code
 *     http://bucket.host/key}; most self-hosted stores need it
 * @param accessKey the access key id, or null for the SDK's default credential chain (environment,
 *     profile, instance role)
 * @param secretKey the secret key; null exactly when {@code accessKey} is null
 */
public record S3Config(
    URI endpoint,
    String region,
    String bucket,
    String prefix,
    boolean pathStyle,
    String accessKey,
    String secretKey) {

  public S3Config {
    Objects.requireNonNull(region, "region");
    Objects.requireNonNull(bucket, "bucket");
    prefix = prefix == null ? "" : prefix;
    if (region.isBlank()) {
      throw new IllegalArgumentException("S3 region must not be blank");
    }
    if (bucket.isBlank()) {
      throw new IllegalArgumentException("S3 bucket must not be blank");
    }
    if (!prefix.isEmpty()) {
      if (!prefix.endsWith("/")) {
        throw new IllegalArgumentException("S3 key prefix must end with '/': " + prefix);
      }
      ObjectKeys.requireValidPrefix(prefix);
    }
    if ((accessKey == null) != (secretKey == null)) {
      throw new IllegalArgumentException(
          "set both S3 accessKey and secretKey, or neither (to use the default credential chain)");
    }
    if (endpoint != null && (endpoint.getScheme() == null || endpoint.getHost() == null)) {
      throw new IllegalArgumentException(
          "S3 endpoint must be an absolute URL such as http://host:port: " + endpoint);
    }
  }

  /** Static credentials are set (otherwise the default credential chain is used). */
  public boolean hasStaticCredentials() {
    return accessKey != null;
  }

  /** Never prints the secret key. */
  @Override
  public String toString() {
    return "S3Config[endpoint="
        + endpoint
        + ", region="
        + region
        + ", bucket="
        + bucket
        + ", prefix="
        + prefix
        + ", pathStyle="
        + pathStyle
        + ", accessKey="
        + accessKey
        + ", secretKey="
        + (secretKey == null ? "null" : "****")
        + "]";
  }
}
