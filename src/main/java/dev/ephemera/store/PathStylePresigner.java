package dev.ephemera.store;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.Objects;
import java.util.function.Supplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;

/**
 * SigV4 query-string presigning (AWS "Authenticating Requests: Using Query Parameters") of GET, PUT and HEAD for a
 * path-style endpoint ({@code scheme://host[:port]/bucket/key}), with an unsigned payload and {@code host} as the one
 * signed header: the URLs the SDK's {@code S3Presigner} makes for the same request.
 *
 * <p>Why not the SDK's: the worker presigns a URL for every chunk it stores over plain HTTP and for every chunk of a
 * restore (and asks with a HEAD about every chunk a persist reuses), and the SDK's presigner runs its whole request
 * pipeline for each (interceptors, endpoint rules, a marshaller, a look for profile files): 61 µs of CPU per URL once
 * warm, 0.58 ms on average over a `make bench` run while the JIT is still compiling (1.7 s of the worker's CPU there,
 * as much as it spent hashing those chunks). This is a canonical request, one sha256 and one HMAC (the signing key is
 * derived once per day and credentials): 5 µs. Virtual-hosted addressing and AWS's own endpoints stay with the SDK.
 *
 * <p>Thread-safe.
 */
final class PathStylePresigner {
  private static final DateTimeFormatter DATE_TIME =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
  private static final String ALGORITHM = "AWS4-HMAC-SHA256";

  private final String bucket;
  private final String region;
  private final Supplier<AwsCredentials> credentials;
  private final String hostHeader;
  private final String base;

  /** The signing key of one day and secret: four HMACs, derived again only when either changes. */
  private record SigningKey(String date, String secret, byte[] key) {}

  private volatile SigningKey cached;

  /**
   * @param endpoint {@code http(s)://host[:port]}, without a path
   * @param credentials resolved for every URL (a provider caches them; temporary ones change)
   */
  PathStylePresigner(URI endpoint, String bucket, String region, Supplier<AwsCredentials> credentials) {
    Objects.requireNonNull(endpoint, "endpoint");
    this.bucket = Objects.requireNonNull(bucket, "bucket");
    this.region = Objects.requireNonNull(region, "region");
    this.credentials = Objects.requireNonNull(credentials, "credentials");
    String scheme = endpoint.getScheme().toLowerCase(java.util.Locale.ROOT);
    int port = endpoint.getPort();
    boolean defaultPort =
        port == -1 || (scheme.equals("http") && port == 80) || (scheme.equals("https") && port == 443);
    this.hostHeader = endpoint.getHost().toLowerCase(java.util.Locale.ROOT) + (defaultPort ? "" : ":" + port);
    this.base = scheme + "://" + hostHeader;
  }

  /** Whether this presigner makes the URLs the SDK would for {@code endpoint}: path-style, no path of its own. */
  static boolean handles(URI endpoint, boolean pathStyle) {
    if (endpoint == null || !pathStyle || endpoint.getHost() == null) {
      return false;
    }
    String path = endpoint.getRawPath();
    return (path == null || path.isEmpty() || path.equals("/"))
        && endpoint.getRawQuery() == null
        && endpoint.getRawUserInfo() == null
        && ("http".equalsIgnoreCase(endpoint.getScheme()) || "https".equalsIgnoreCase(endpoint.getScheme()));
  }

  /** A URL for {@code method} ({@code GET}, {@code PUT} or {@code HEAD}) of {@code s3Key}, for {@code ttl} from now. */
  URI presign(String method, String s3Key, Duration ttl, Instant now) {
    AwsCredentials c = credentials.get();
    String amzDate = DATE_TIME.format(now);
    String date = amzDate.substring(0, 8);
    String scope = date + "/" + region + "/s3/aws4_request";
    String path = "/" + encode(bucket, false) + "/" + encode(s3Key, true);
    // parameters in the byte order of their names, as the canonical request wants them
    StringBuilder query = new StringBuilder(400)
        .append("X-Amz-Algorithm=").append(ALGORITHM)
        .append("&X-Amz-Credential=").append(encode(c.accessKeyId() + "/" + scope, false))
        .append("&X-Amz-Date=").append(amzDate)
        .append("&X-Amz-Expires=").append(ttl.toSeconds());
    if (c instanceof AwsSessionCredentials session) {
      query.append("&X-Amz-Security-Token=").append(encode(session.sessionToken(), false));
    }
    query.append("&X-Amz-SignedHeaders=host");
    String canonicalRequest =
        method + "\n" + path + "\n" + query + "\nhost:" + hostHeader + "\n\nhost\nUNSIGNED-PAYLOAD";
    String stringToSign = ALGORITHM + "\n" + amzDate + "\n" + scope + "\n" + sha256Hex(canonicalRequest);
    String signature = HexFormat.of().formatHex(hmac(signingKey(date, c.secretAccessKey()), stringToSign));
    return URI.create(base + path + "?" + query + "&X-Amz-Signature=" + signature);
  }

  private byte[] signingKey(String date, String secret) {
    SigningKey k = cached;
    if (k == null || !k.date().equals(date) || !k.secret().equals(secret)) {
      byte[] key = hmac(("AWS4" + secret).getBytes(StandardCharsets.UTF_8), date);
      key = hmac(key, region);
      key = hmac(key, "s3");
      key = hmac(key, "aws4_request");
      k = new SigningKey(date, secret, key);
      cached = k;
    }
    return k.key();
  }

  /** SigV4's URI encoding: every byte but {@code A-Z a-z 0-9 - . _ ~} as %XY (and {@code /} kept in a key). */
  static String encode(String s, boolean keepSlash) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    StringBuilder out = new StringBuilder(bytes.length + 16);
    for (byte b : bytes) {
      int c = b & 0xff;
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
          || c == '_' || c == '~' || (keepSlash && c == '/')) {
        out.append((char) c);
      } else {
        out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
      }
    }
    return out.toString();
  }

  private static String sha256Hex(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  private static byte[] hmac(byte[] key, String data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every Java platform has HmacSHA256", e);
    }
  }
}
