package dev.ephemera.store;

import dev.ephemera.net.PlainHttp;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.function.Supplier;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;
import software.amazon.awssdk.utils.SdkAutoCloseable;

/**
 * An {@link ObjectStore} in an S3 bucket (AWS, or any S3-compatible store such as MinIO, Ceph or
 * S3Proxy), through the AWS SDK v2 with the JDK's URL-connection HTTP client.
 *
 * <p>Key {@code k} is the S3 key {@code prefix + k}. S3 makes every PUT atomic, so a put is one
 * PutObject streamed from its source; a file larger than the multipart threshold (64 MiB) is
 * uploaded in parts and becomes visible only when the upload completes. Checksums are computed and
 * validated only when an operation requires them: the SDK's newer defaults send trailing checksums
 * that many S3-compatible stores reject.
 *
 * <p>Presigned URLs are SigV4 query-string signatures, valid for at most 7 days (an S3 limit), and
 * no longer than the credentials that signed them: with temporary credentials (an instance role) a
 * link dies with the session token.
 *
 * <p>Failures map to {@link ObjectStoreException}: network errors, timeouts, 5xx, 408 and
 * throttling are transient; other 4xx answers are permanent. The SDK's own retries (a few quick
 * ones) stay on.
 */
public final class S3ObjectStore implements ObjectStore {

  /** SigV4 presigned URLs cannot live longer. */
  public static final Duration MAX_PRESIGN_TTL = Duration.ofDays(7);

  static final long DEFAULT_MULTIPART_THRESHOLD = 64L << 20;
  static final long DEFAULT_PART_SIZE = 16L << 20;

  /** S3's minimum for every part but the last. */
  static final long MIN_PART_SIZE = 5L << 20;

  private final S3Config config;
  private final long multipartThreshold;
  private final long partSize;
  private final S3Client client;
  private final S3Presigner presigner;
  /** Presigns for path-style endpoints without the SDK's per-URL cost (null: the SDK's presigner does). */
  private final PathStylePresigner pathStylePresigner;
  private final AwsCredentialsProvider credentials;

  /**
   * Builds the SDK clients; no request is sent until the first call ({@link #check()} for a health
   * check).
   */
  public S3ObjectStore(S3Config config) {
    this(config, DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE);
  }

  /** For tests that want multipart uploads without writing 64 MiB. */
  S3ObjectStore(S3Config config, long multipartThreshold, long partSize) {
    this.config = Objects.requireNonNull(config, "config");
    if (partSize < MIN_PART_SIZE) {
      throw new IllegalArgumentException("part size must be at least 5 MiB, was " + partSize);
    }
    if (multipartThreshold < partSize) {
      throw new IllegalArgumentException("multipart threshold must be at least the part size");
    }
    this.multipartThreshold = multipartThreshold;
    this.partSize = partSize;
    this.credentials =
        config.hasStaticCredentials()
            ? StaticCredentialsProvider.create(
                AwsBasicCredentials.create(config.accessKey(), config.secretKey()))
            : DefaultCredentialsProvider.builder().build();
    Region region = Region.of(config.region());
    var clientBuilder =
        S3Client.builder()
            .httpClientBuilder(UrlConnectionHttpClient.builder())
            .region(region)
            .credentialsProvider(credentials)
            .forcePathStyle(config.pathStyle())
            // Plain signed bodies, not aws-chunked ones: over plain HTTP the SDK signs payloads, and the chunked
            // framing costs S3-compatible servers (S3Proxy decodes it a byte at a time) far more than one sha256 pass.
            .serviceConfiguration(S3Configuration.builder().chunkedEncodingEnabled(false).build())
            .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
            .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
    var presignerBuilder =
        S3Presigner.builder()
            .region(region)
            .credentialsProvider(credentials)
            .serviceConfiguration(
                S3Configuration.builder().pathStyleAccessEnabled(config.pathStyle()).build());
    if (config.endpoint() != null) {
      clientBuilder.endpointOverride(config.endpoint());
      presignerBuilder.endpointOverride(config.endpoint());
    }
    this.client = clientBuilder.build();
    this.presigner = presignerBuilder.build();
    this.pathStylePresigner =
        PathStylePresigner.handles(config.endpoint(), config.pathStyle())
            ? new PathStylePresigner(
                config.endpoint(), config.bucket(), config.region(), credentials::resolveCredentials)
            : null;
    this.plainHttp = config.endpoint() != null && "http".equalsIgnoreCase(config.endpoint().getScheme());
  }

  /**
   * Whether the endpoint is plain {@code http://}. Over it the SDK signs every payload: it hashes each body for the
   * signature and the server hashes it again to check (perf, .m2 cold persist against S3Proxy: both together about a
   * tenth of the servers' CPU). Over {@code https://} it sends {@code UNSIGNED-PAYLOAD}, as presigned URLs always do,
   * so over plain HTTP byte-array puts (chunks, manifests) go as a presigned PUT on a plain connection instead.
   */
  private final boolean plainHttp;

  /** The configuration this store was built from. */
  public S3Config config() {
    return config;
  }

  @Override
  public void put(String key, byte[] bytes) {
    Objects.requireNonNull(bytes, "bytes");
    if (plainHttp) {
      putPresigned(key, bytes);
      return;
    }
    String s3Key = s3Key(key);
    sdk(
        "put",
        key,
        () ->
            client.putObject(
                r -> r.bucket(config.bucket()).key(s3Key),
                // the caller's array as it is (fromBytes copies it): put is synchronous and nobody changes it meanwhile
                RequestBody.fromContentProvider(
                    ContentStreamProvider.fromByteArrayUnsafe(bytes), bytes.length, "application/octet-stream")));
  }

  @Override
  public void put(String key, Path file) {
    Objects.requireNonNull(file, "file");
    String s3Key = s3Key(key);
    long size;
    try {
      size = Files.size(file);
    } catch (IOException e) {
      throw new ObjectStoreException("put " + key + ": cannot read " + file + ": " + e, false, e);
    }
    if (size <= multipartThreshold) {
      // fromFile streams the file and can reopen it if the SDK retries
      sdk(
          "put",
          key,
          () ->
              client.putObject(
                  r -> r.bucket(config.bucket()).key(s3Key), RequestBody.fromFile(file)));
    } else {
      putMultipart(key, s3Key, file, size);
    }
  }

  private void putMultipart(String key, String s3Key, Path file, long size) {
    String uploadId =
        sdk(
            "put",
            key,
            () ->
                client.createMultipartUpload(r -> r.bucket(config.bucket()).key(s3Key)).uploadId());
    try {
      List<CompletedPart> parts = new ArrayList<>();
      int partNumber = 1;
      for (long offset = 0; offset < size; offset += partSize, partNumber++) {
        long length = Math.min(partSize, size - offset);
        long partOffset = offset;
        int number = partNumber;
        // a provider, not a stream, so that an SDK retry of the part can read it again
        RequestBody body =
            RequestBody.fromContentProvider(
                () -> openFileRange(file, partOffset, length), length, "application/octet-stream");
        String eTag =
            sdk(
                "put",
                key,
                () ->
                    client
                        .uploadPart(
                            r ->
                                r.bucket(config.bucket())
                                    .key(s3Key)
                                    .uploadId(uploadId)
                                    .partNumber(number)
                                    .contentLength(length),
                            body)
                        .eTag());
        parts.add(CompletedPart.builder().partNumber(number).eTag(eTag).build());
      }
      sdk(
          "put",
          key,
          () ->
              client.completeMultipartUpload(
                  r ->
                      r.bucket(config.bucket())
                          .key(s3Key)
                          .uploadId(uploadId)
                          .multipartUpload(m -> m.parts(parts))));
    } catch (RuntimeException e) {
      try {
        client.abortMultipartUpload(r -> r.bucket(config.bucket()).key(s3Key).uploadId(uploadId));
      } catch (RuntimeException abortFailure) {
        // the bucket's lifecycle rule for incomplete uploads is the backstop
        e.addSuppressed(abortFailure);
      }
      throw e;
    }
  }

  private static InputStream openFileRange(Path file, long offset, long length) {
    try {
      FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
      channel.position(offset);
      return new RangeInputStream(Channels.newInputStream(channel), length);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public InputStream open(String key) {
    String s3Key = s3Key(key);
    return sdk("open", key, () -> client.getObject(r -> r.bucket(config.bucket()).key(s3Key)));
  }

  @Override
  public InputStream openRange(String key, long offset, long length) {
    LocalDirectoryStore.requireRange(offset, length);
    String s3Key = s3Key(key);
    if (length == 0) {
      // an HTTP range cannot be empty; still answer NoSuchObjectException for a missing key
      if (!exists(key)) {
        throw new NoSuchObjectException(key, describe());
      }
      return InputStream.nullInputStream();
    }
    long end = offset + length - 1;
    // a length reaching past Long.MAX_VALUE means "to the end": an open-ended range
    String range = "bytes=" + offset + "-" + (end < offset ? "" : Long.toString(end));
    ResponseInputStream<GetObjectResponse> in;
    try {
      in =
          sdk(
              "open",
              key,
              () ->
                  client.getObject(
                      r ->
                          r.bucket(config.bucket())
                              .key(s3Key)
                              .range(range)));
    } catch (ObjectStoreException e) {
      if (e.getCause() instanceof AwsServiceException s && s.statusCode() == 416) {
        // the offset is at or past the end: the object exists and the range holds no bytes
        return InputStream.nullInputStream();
      }
      throw e;
    }
    if (in.response().contentRange() != null) {
      return in;
    }
    // a store that ignores Range sends the whole object (200, no Content-Range): cut it ourselves
    Long total = in.response().contentLength();
    if (total != null && offset >= total) {
      in.abort();
      return InputStream.nullInputStream();
    }
    try {
      in.skipNBytes(offset);
    } catch (IOException e) {
      in.abort();
      throw new ObjectStoreException(
          "open " + key + " in " + describe() + " failed: " + e, true, e);
    }
    return new RangeInputStream(in, length);
  }

  @Override
  public Optional<byte[]> getBytes(String key) {
    if (plainHttp) {
      return PLAIN_RETRY.call(() -> getPresignedOnce(key));
    }
    String s3Key = s3Key(key);
    try {
      return Optional.of(
          sdk(
              "read",
              key,
              () -> {
                // read straight into an array of the announced length: the SDK's getObjectAsBytes grows a
                // ByteArrayOutputStream and copies each chunk twice more
                try (ResponseInputStream<GetObjectResponse> in =
                    client.getObject(r -> r.bucket(config.bucket()).key(s3Key))) {
                  Long length = in.response().contentLength();
                  if (length == null || length < 0 || length > Integer.MAX_VALUE - 16) {
                    return in.readAllBytes();
                  }
                  byte[] bytes = new byte[length.intValue()];
                  if (in.readNBytes(bytes, 0, bytes.length) != bytes.length) {
                    throw new UncheckedIOException(
                        new IOException("short read: the store announced " + length + " bytes"));
                  }
                  return bytes;
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              }));
    } catch (NoSuchObjectException e) {
      return Optional.empty();
    }
  }

  @Override
  public boolean exists(String key) {
    return size(key).isPresent();
  }

  @Override
  public OptionalLong size(String key) {
    if (plainHttp && pathStylePresigner != null) {
      // asked for every reused chunk of a persist (`present`): a presigned HEAD, without the SDK's per-call cost
      return PLAIN_RETRY.call(() -> sizeOnce(key));
    }
    return head(key).map(h -> OptionalLong.of(h.contentLength())).orElse(OptionalLong.empty());
  }

  private OptionalLong sizeOnce(String key) {
    String what = "stat " + key + " in " + describe() + " failed: ";
    PlainHttp.Head head;
    try {
      URI url = pathStylePresigner.presign("HEAD", s3Key(key), PLAIN_URL_TTL, Instant.now());
      head = PlainHttp.head(url, Duration.ofSeconds(10), Duration.ofSeconds(60));
    } catch (IOException e) {
      throw new ObjectStoreException(what + e.getMessage(), true, e);
    }
    if (head.status() == 200 && head.contentLength() >= 0) {
      return OptionalLong.of(head.contentLength());
    }
    if (head.status() == 404) {
      return OptionalLong.empty(); // a HEAD answer has no body to tell a missing bucket from a missing key
    }
    throw refused(what, head.status(), head.status() == 200 ? " without a Content-Length" : "");
  }

  private Optional<HeadObjectResponse> head(String key) {
    String s3Key = s3Key(key);
    try {
      return Optional.of(
          sdk("stat", key, () -> client.headObject(r -> r.bucket(config.bucket()).key(s3Key))));
    } catch (NoSuchObjectException e) {
      return Optional.empty();
    }
  }

  @Override
  public void delete(String key) {
    String s3Key = s3Key(key);
    // S3 answers 204 for a missing key too
    sdk("delete", key, () -> client.deleteObject(r -> r.bucket(config.bucket()).key(s3Key)));
  }

  @Override
  public Stream<String> list(String prefix) {
    ObjectKeys.requireValidPrefix(prefix);
    String storePrefix = config.prefix();
    // the paginator fetches the next page (1000 keys) only when the stream gets there
    Iterator<S3Object> pages =
        client
            .listObjectsV2Paginator(r -> r.bucket(config.bucket()).prefix(storePrefix + prefix))
            .contents()
            .iterator();
    Iterator<S3Object> mapped =
        new Iterator<>() {
          @Override
          public boolean hasNext() {
            return sdk("list", prefix, pages::hasNext);
          }

          @Override
          public S3Object next() {
            return sdk("list", prefix, pages::next);
          }
        };
    return StreamSupport.stream(
            Spliterators.spliteratorUnknownSize(mapped, Spliterator.ORDERED | Spliterator.NONNULL),
            false)
        .map(o -> o.key().substring(storePrefix.length()))
        // objects put there by something else (keys we could not have written) are not ours to show
        .filter(ObjectKeys::isValidKey);
  }

  @Override
  public Optional<URI> presignGet(String key, Duration ttl) {
    String s3Key = s3Key(key);
    requireTtl(ttl);
    if (pathStylePresigner != null) {
      return Optional.of(sdk("presign", key, () -> pathStylePresigner.presign("GET", s3Key, ttl, Instant.now())));
    }
    return Optional.of(
        toUri(
            sdk(
                "presign",
                key,
                () ->
                    presigner
                        .presignGetObject(
                            p ->
                                p.signatureDuration(ttl)
                                    .getObjectRequest(r -> r.bucket(config.bucket()).key(s3Key)))
                        .url())));
  }

  @Override
  public Optional<URI> presignPut(String key, Duration ttl) {
    String s3Key = s3Key(key);
    requireTtl(ttl);
    if (pathStylePresigner != null) {
      return Optional.of(sdk("presign", key, () -> pathStylePresigner.presign("PUT", s3Key, ttl, Instant.now())));
    }
    return Optional.of(
        toUri(
            sdk(
                "presign",
                key,
                () ->
                    presigner
                        .presignPutObject(
                            p ->
                                p.signatureDuration(ttl)
                                    .putObjectRequest(r -> r.bucket(config.bucket()).key(s3Key)))
                        .url())));
  }

  private static void requireTtl(Duration ttl) {
    Objects.requireNonNull(ttl, "ttl");
    if (ttl.isNegative() || ttl.isZero() || ttl.compareTo(MAX_PRESIGN_TTL) > 0) {
      throw new IllegalArgumentException(
          "presigned URL lifetime must be within (0, 7 days], was " + ttl);
    }
  }

  private static URI toUri(java.net.URL url) {
    try {
      return url.toURI();
    } catch (URISyntaxException e) {
      throw new IllegalStateException("the SDK signed an invalid URL: " + url, e);
    }
  }

  /** Sends HEAD for the bucket: cheap, and proves endpoint, credentials and bucket. */
  @Override
  public void check() {
    try {
      client.headBucket(r -> r.bucket(config.bucket()));
    } catch (AwsServiceException e) {
      if (e.statusCode() == 404) {
        throw new ObjectStoreException(
            "bucket "
                + config.bucket()
                + " does not exist"
                + (config.endpoint() == null ? "" : " at " + config.endpoint())
                + "; create it or fix the configured bucket name",
            false,
            e);
      }
      throw translate("check", "", e);
    } catch (SdkException e) {
      throw translate("check", "", e);
    }
  }

  @Override
  public String describe() {
    return "s3://"
        + config.bucket()
        + "/"
        + config.prefix()
        + (config.endpoint() == null ? "" : " at " + config.endpoint());
  }

  @Override
  public void close() {
    try {
      presigner.close();
    } finally {
      try {
        client.close();
      } finally {
        // the SDK closes only the credential providers it made itself; the default chain holds
        // threads
        if (credentials instanceof SdkAutoCloseable closeable) {
          closeable.close();
        }
      }
    }
  }

  private String s3Key(String key) {
    return config.prefix() + ObjectKeys.requireValidKey(key);
  }

  /** How long a presigned PUT, GET or HEAD of this store's own may take to start. */
  private static final Duration PLAIN_URL_TTL = Duration.ofMinutes(15);
  /** Like the SDK's standard mode: 3 attempts, 100 ms then 200 ms apart. */
  private static final Retry PLAIN_RETRY =
      Retry.withBackoff(
          new Backoff(3, Duration.ofMillis(100), Duration.ofMillis(200), 2.0, 0.0), ObjectStoreException::isTransient);

  /**
   * {@code bytes} under {@code key} by a presigned PUT (the body unsigned, as over HTTPS) on a kept-alive connection
   * ({@link PlainHttp}); retried on no answer and on the statuses the SDK retries.
   */
  private void putPresigned(String key, byte[] bytes) {
    PLAIN_RETRY.execute(() -> putPresignedOnce(key, bytes));
  }

  private Void putPresignedOnce(String key, byte[] bytes) {
    String what = "put " + key + " in " + describe() + " failed: ";
    PlainHttp.Answer answer =
        plain(what, "PUT", presignPut(key, PLAIN_URL_TTL).orElseThrow(),
            Map.of("Content-Type", "application/octet-stream"), bytes, 1 << 20);
    if (answer.status() / 100 != 2) {
      throw refused(what, answer.status(), text(answer));
    }
    return null;
  }

  /** One exchange of this store's own on a plain connection ({@link PlainHttp}); no answer is a transient failure. */
  private static PlainHttp.Answer plain(
      String what, String method, URI url, Map<String, String> headers, byte[] body, int maxBody) {
    try {
      return PlainHttp.exchange(method, url, headers, body, Duration.ofSeconds(10), Duration.ofSeconds(60), maxBody);
    } catch (IOException e) {
      throw new ObjectStoreException(what + e.getMessage(), true, e);
    }
  }

  /** The store's refusal as the store's exception: transient for the statuses worth another try. */
  private static ObjectStoreException refused(String what, int status, String detail) {
    return new ObjectStoreException(what + "HTTP " + status + detail, transientStatus(status), null);
  }

  private static String text(PlainHttp.Answer answer) {
    return ": " + new String(answer.body(), 0, answer.length(), java.nio.charset.StandardCharsets.UTF_8);
  }

  /**
   * The object by a presigned GET on a kept-alive connection, as {@link #putPresigned} puts: the SDK's GetObject runs
   * its request pipeline and signs the headers for every call (about 0.4 ms of CPU per call on average in a bench
   * run's profile, JIT included), and the worker reads every reused chunk of a persist back for the set's digests.
   * Empty for a missing key (not a missing bucket: that is a configuration problem, as through the SDK).
   */
  private Optional<byte[]> getPresignedOnce(String key) {
    String what = "read " + key + " in " + describe() + " failed: ";
    PlainHttp.Answer answer =
        plain(what, "GET", presignGet(key, PLAIN_URL_TTL).orElseThrow(), Map.of(), null, Integer.MAX_VALUE - 16);
    if (answer.status() == 200) {
      byte[] body = answer.body();
      return Optional.of(answer.length() == body.length ? body : java.util.Arrays.copyOf(body, answer.length()));
    }
    String error = text(answer);
    if (answer.status() == 404 && !error.contains("<Code>NoSuchBucket</Code>")) {
      return Optional.empty();
    }
    throw refused(what, answer.status(), error);
  }

  /** Statuses worth another try: the store's trouble, a timeout, throttling. */
  private static boolean transientStatus(int status) {
    return status >= 500 || status == 408 || status == 429;
  }

  /** Runs one SDK call, translating its exceptions into the store's. */
  private <T> T sdk(String operation, String key, Supplier<T> call) {
    try {
      return call.get();
    } catch (SdkException | UncheckedIOException e) {
      throw translate(operation, key, e);
    }
  }

  private ObjectStoreException translate(String operation, String key, RuntimeException e) {
    String what = operation + (key.isEmpty() ? "" : " " + key) + " in " + describe() + " failed: ";
    if (e instanceof AwsServiceException s) {
      // a missing bucket is a configuration problem, not a missing object
      if (s.statusCode() == 404 && !"NoSuchBucket".equals(errorCode(s))) {
        return new NoSuchObjectException(key, describe(), s);
      }
      boolean transientFailure = transientStatus(s.statusCode()) || s.isThrottlingException();
      return new ObjectStoreException(what + s.getMessage(), transientFailure, s);
    }
    if (e instanceof SdkClientException c) {
      // no answer from the store: connection refused or reset, timeout, unreadable response
      return new ObjectStoreException(
          what + c.getMessage(), c.retryable() || c.getCause() instanceof IOException, c);
    }
    return new ObjectStoreException(what + e.getMessage(), false, e);
  }

  private static String errorCode(AwsServiceException e) {
    return e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
  }
}
