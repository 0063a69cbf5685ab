package dev.ephemera.testing;

import dev.ephemera.dev.EmbeddedKafka;
import dev.ephemera.dev.EmbeddedPostgresServer;
import dev.ephemera.dev.EmbeddedS3;
import java.net.URI;
import java.sql.DriverManager;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The real services integration tests run against, each started lazily and once per test JVM.
 *
 * <p>By default everything runs in this JVM (Kafka's KRaft test kit, embedded PostgreSQL binaries, S3Proxy). An external
 * service is used instead when its variable is set: {@code EPHEMERA_TEST_KAFKA_BOOTSTRAP}, {@code EPHEMERA_TEST_JDBC_URL}
 * (with {@code EPHEMERA_TEST_JDBC_USER}/{@code _PASSWORD}), {@code EPHEMERA_TEST_S3_ENDPOINT} (with
 * {@code EPHEMERA_TEST_S3_ACCESS_KEY}/{@code _SECRET_KEY}/{@code _REGION}). {@code EPHEMERA_TEST_KAFKA=container} asks
 * for a Testcontainers broker, which needs a Docker daemon: without one the run fails, it is never skipped.
 */
public final class TestServices {
  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  private final Map<String, String> env;
  private KafkaEndpoint kafka;
  private PostgresEndpoint postgres;
  private S3Endpoint s3;
  private final java.util.List<AutoCloseable> started = new java.util.ArrayList<>();

  TestServices(Map<String, String> env) {
    this.env = env;
  }

  /** A real Kafka broker. */
  public synchronized KafkaEndpoint kafka() {
    if (kafka == null) {
      String external = env.get("EPHEMERA_TEST_KAFKA_BOOTSTRAP");
      String mode = env.getOrDefault("EPHEMERA_TEST_KAFKA", "embedded").toLowerCase(Locale.ROOT);
      if (external != null && !external.isBlank()) {
        kafka = new KafkaEndpoint(external);
      } else if (mode.equals("container")) {
        kafka = new KafkaEndpoint(ContainerKafka.start(started, env));
      } else if (mode.equals("embedded")) {
        EmbeddedKafka broker = startOrFail("Kafka", () -> EmbeddedKafka.start(null));
        started.add(broker);
        kafka = new KafkaEndpoint(broker.bootstrapServers());
      } else {
        throw new IllegalStateException(
            "EPHEMERA_TEST_KAFKA=" + mode + " is not understood; use 'embedded' (default) or 'container'");
      }
    }
    return kafka;
  }

  /** The administrative database of a real PostgreSQL server. */
  public synchronized PostgresEndpoint postgres() {
    if (postgres == null) {
      String external = env.get("EPHEMERA_TEST_JDBC_URL");
      if (external != null && !external.isBlank()) {
        postgres =
            new PostgresEndpoint(
                external,
                env.getOrDefault("EPHEMERA_TEST_JDBC_USER", "postgres"),
                env.getOrDefault("EPHEMERA_TEST_JDBC_PASSWORD", ""));
      } else {
        EmbeddedPostgresServer server = startOrFail("PostgreSQL", () -> EmbeddedPostgresServer.start(null, 0));
        started.add(server);
        postgres =
            new PostgresEndpoint(
                server.jdbcUrl("postgres"), EmbeddedPostgresServer.USER, EmbeddedPostgresServer.PASSWORD);
      }
    }
    return postgres;
  }

  /** A new, empty database on the PostgreSQL server; use one per test class so tests don't see each other's rows. */
  public PostgresEndpoint freshDatabase() {
    PostgresEndpoint admin = postgres();
    String name = "ephemera_test_" + ProcessHandle.current().pid() + "_" + SEQUENCE.incrementAndGet();
    try (var connection = DriverManager.getConnection(admin.jdbcUrl(), admin.user(), admin.password());
        var statement = connection.createStatement()) {
      statement.execute("CREATE DATABASE " + name);
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException("could not create test database " + name + ": " + e.getMessage(), e);
    }
    String url = admin.jdbcUrl();
    int slash = url.lastIndexOf('/');
    int query = url.indexOf('?', slash);
    String fresh = url.substring(0, slash + 1) + name + (query < 0 ? "" : url.substring(query));
    return new PostgresEndpoint(fresh, admin.user(), admin.password());
  }

  /** A real S3 API. */
  public synchronized S3Endpoint s3() {
    if (s3 == null) {
      String external = env.get("EPHEMERA_TEST_S3_ENDPOINT");
      if (external != null && !external.isBlank()) {
        s3 =
            new S3Endpoint(
                URI.create(external),
                env.getOrDefault("EPHEMERA_TEST_S3_REGION", EmbeddedS3.REGION),
                env.getOrDefault("EPHEMERA_TEST_S3_ACCESS_KEY", ""),
                env.getOrDefault("EPHEMERA_TEST_S3_SECRET_KEY", ""));
      } else {
        EmbeddedS3 server = startOrFail("S3Proxy", () -> EmbeddedS3.start(null));
        started.add(server);
        s3 = new S3Endpoint(server.endpoint(), EmbeddedS3.REGION, EmbeddedS3.ACCESS_KEY, EmbeddedS3.SECRET_KEY);
      }
    }
    return s3;
  }

  /** Creates a new, empty bucket on the S3 API and returns its name. */
  public String freshBucket() {
    String bucket = "ephemera-test-" + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet();
    try (S3Client client = s3Client()) {
      client.createBucket(b -> b.bucket(bucket));
    }
    return bucket;
  }

  /** An S3 client for the test S3 API, configured the way S3Proxy needs (path style, checksums only when required). */
  public S3Client s3Client() {
    S3Endpoint endpoint = s3();
    return S3Client.builder()
        .endpointOverride(endpoint.endpoint())
        .region(Region.of(endpoint.region()))
        .credentialsProvider(
            StaticCredentialsProvider.create(AwsBasicCredentials.create(endpoint.accessKey(), endpoint.secretKey())))
        .forcePathStyle(true)
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
        .httpClient(UrlConnectionHttpClient.create())
        .build();
  }

  synchronized void closeAll() {
    for (int i = started.size() - 1; i >= 0; i--) {
      try {
        started.get(i).close();
      } catch (Exception e) {
        System.err.println("warning: stopping test service failed: " + e);
      }
    }
    started.clear();
  }

  private interface Starter<T> {
    T start() throws Exception;
  }

  private static <T> T startOrFail(String what, Starter<T> starter) {
    try {
      return starter.start();
    } catch (Exception e) {
      throw new IllegalStateException("could not start the test " + what + ": " + e.getMessage(), e);
    }
  }
}
