package dev.ephemera.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Everything the worker is configured with, validated once at start-up. Every key, its default and its meaning is
 * listed in {@link #DEFAULTS} and in the README's configuration table (kept in step by {@code EphemeraConfigTest}).
 */
public record EphemeraConfig(
    Kafka kafka,
    Database database,
    Store store,
    Http http,
    Auth auth,
    Duration linkTtl,
    String eventSource,
    Gc gc,
    Metrics metrics,
    Archive archive) {

  /** Kafka connection and topic layout. */
  public record Kafka(
      String bootstrap,
      String group,
      String topicPrefix,
      boolean createTopics,
      int partitions,
      short replicationFactor,
      java.time.Duration sessionTimeout) {
    /** The physical name of one of Ephemera's topics. */
    public String topic(String logical) {
      return topicPrefix + logical;
    }
  }

  /** PostgreSQL connection. */
  public record Database(String url, String user, String password, int poolSize) {}

  /** Object store: a local directory or an S3-compatible bucket. */
  public record Store(
      String kind,
      Path dir,
      Optional<URI> s3Endpoint,
      String s3Region,
      String s3Bucket,
      String s3Prefix,
      boolean s3PathStyle,
      Optional<String> s3AccessKey,
      Optional<String> s3SecretKey,
      boolean s3DirectDownloads) {}

  /** The HTTP API: where it listens and the URL people and jobs reach it at (used in download links). */
  public record Http(String host, int port, URI publicUrl) {}

  /** Secrets: the admin bearer token and the HMAC key signing job tokens and download links. */
  public record Auth(String adminToken, byte[] signingKey, Duration jobTokenTtl, byte[] previousSigningKey) {}

  /**
   * The collector: how often it evicts over-quota and idle sets and deletes unreferenced chunks, and how long a chunk
   * nobody references is kept after anything last vouched for it (uploads and restores in flight finish within it).
   */
  public record Gc(Duration interval, Duration grace) {}

  /** The catalog gauges: how often they are recomputed and how many owners get a series of their own. */
  public record Metrics(Duration catalogInterval, int topOwners) {}

  /**
   * What a set's tar stream may hold: a persist beyond it is refused ({@code unsafe_archive}), as a restore with the
   * same limits ({@code ephemera restore --max-entries/--max-bytes/--max-ratio}) would refuse it.
   *
   * @param maxEntries most tar entries
   * @param maxBytes most bytes of file content
   * @param maxRatio most uncompressed bytes per stored byte over the whole stream
   */
  public record Archive(long maxEntries, long maxBytes, long maxRatio) {}

  /** Every setting with its default; blank means "no default". */
  public static final Map<String, String> DEFAULTS = defaults();

  private static Map<String, String> defaults() {
    Map<String, String> d = new LinkedHashMap<>();
    d.put("kafka.bootstrap", "localhost:9092");
    d.put("kafka.group", "ephemera-worker");
    d.put("kafka.topic-prefix", "");
    d.put("kafka.create-topics", "true");
    d.put("kafka.partitions", "12");
    d.put("kafka.replication-factor", "-1");
    d.put("kafka.session-timeout", "10s");
    d.put("db.url", "jdbc:postgresql://localhost:5432/ephemera");
    d.put("db.user", "ephemera");
    d.put("db.password", "");
    d.put("db.pool-size", "10");
    d.put("store.kind", "local");
    d.put("store.dir", "./ephemera-objects");
    d.put("s3.endpoint", "");
    d.put("s3.region", "us-east-1");
    d.put("s3.bucket", "");
    d.put("s3.prefix", "");
    d.put("s3.path-style", "false");
    d.put("s3.access-key", "");
    d.put("s3.secret-key", "");
    d.put("s3.direct-downloads", "true");
    d.put("http.host", "0.0.0.0");
    d.put("http.port", "8080");
    d.put("http.public-url", "http://localhost:8080");
    d.put("auth.admin-token", "");
    d.put("auth.signing-key", "");
    d.put("auth.previous-signing-key", "");
    d.put("auth.job-token-ttl", "24h");
    d.put("links.ttl", "30d");
    d.put("events.source", "urn:ephemera:worker");
    d.put("gc.interval", "1h");
    d.put("gc.grace", "1h");
    d.put("metrics.catalog-interval", "60s");
    d.put("metrics.top-owners", "10");
    d.put("archive.max-entries", "1000000");
    d.put("archive.max-bytes", "64GiB");
    d.put("archive.max-ratio", "1000");
    return java.util.Collections.unmodifiableMap(d);
  }

  /** Reads and validates the settings; errors name the setting and its environment variable. */
  public static EphemeraConfig from(Settings s) {
    String kind = s.get("store.kind").trim();
    if (!kind.equals("local") && !kind.equals("s3")) {
      throw new ConfigException("setting 'store.kind' must be 'local' or 's3', got '" + kind + "'");
    }
    if (kind.equals("s3")) {
      s.required("s3.bucket");
    }
    String adminToken = s.required("auth.admin-token");
    if (adminToken.length() < 16) {
      throw new ConfigException("setting 'auth.admin-token' must be at least 16 characters");
    }
    String signingKey = s.required("auth.signing-key");
    if (signingKey.length() < 32) {
      throw new ConfigException("setting 'auth.signing-key' must be at least 32 characters");
    }
    int replication = s.intValue("kafka.replication-factor");
    if (replication == 0 || replication < -1) {
      throw new ConfigException("setting 'kafka.replication-factor' must be -1 (broker default) or positive");
    }
    int port = s.intValue("http.port");
    if (port < 0 || port > 65535) {
      throw new ConfigException("setting 'http.port' must be 0..65535, got " + port);
    }
    return new EphemeraConfig(
        new Kafka(
            s.required("kafka.bootstrap"),
            s.required("kafka.group"),
            s.get("kafka.topic-prefix"),
            s.boolValue("kafka.create-topics"),
            positive(s, "kafka.partitions"),
            (short) replication,
            s.duration("kafka.session-timeout")),
        new Database(s.required("db.url"), s.required("db.user"), s.get("db.password"), positive(s, "db.pool-size")),
        new Store(
            kind,
            Path.of(s.get("store.dir")),
            s.optional("s3.endpoint").map(URI::create),
            s.get("s3.region"),
            s.get("s3.bucket"),
            s.get("s3.prefix"),
            s.boolValue("s3.path-style"),
            s.optional("s3.access-key"),
            s.optional("s3.secret-key"),
            s.boolValue("s3.direct-downloads")),
        new Http(s.get("http.host"), port, URI.create(stripSlash(s.required("http.public-url")))),
        new Auth(
            adminToken,
            signingKey.getBytes(java.nio.charset.StandardCharsets.UTF_8),
            s.duration("auth.job-token-ttl"),
            s.optional("auth.previous-signing-key")
                .map(k -> {
                  if (k.length() < 32) {
                    throw new ConfigException("setting 'auth.previous-signing-key' must be at least 32 characters");
                  }
                  return k.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                })
                .orElse(null)),
        s.duration("links.ttl"),
        s.required("events.source"),
        new Gc(positiveDuration(s, "gc.interval"), s.duration("gc.grace")),
        new Metrics(positiveDuration(s, "metrics.catalog-interval"), positive(s, "metrics.top-owners")),
        new Archive(positiveLong(s, "archive.max-entries"), s.size("archive.max-bytes"),
            positiveLong(s, "archive.max-ratio")));
  }

  private static int positive(Settings s, String key) {
    int v = s.intValue(key);
    if (v <= 0) {
      throw new ConfigException("setting '" + key + "' must be positive, got " + v);
    }
    return v;
  }

  private static long positiveLong(Settings s, String key) {
    long v = s.longValue(key);
    if (v <= 0) {
      throw new ConfigException("setting '" + key + "' must be positive, got " + v);
    }
    return v;
  }

  private static Duration positiveDuration(Settings s, String key) {
    Duration d = s.duration(key);
    if (d.isNegative() || d.isZero()) {
      throw new ConfigException("setting '" + key + "' must be a positive duration, got " + s.get(key));
    }
    return d;
  }

  private static String stripSlash(String url) {
    return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
  }
}
