package dev.ephemera.testing;

import dev.ephemera.App;
import dev.ephemera.cli.Main;
import dev.ephemera.config.EphemeraConfig;
import dev.ephemera.config.Settings;
import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.EventCodec;
import dev.ephemera.event.JobCompleted;
import dev.ephemera.event.JobInfo;
import dev.ephemera.event.JobStarted;
import dev.ephemera.event.Repo;
import dev.ephemera.event.Topics;
import dev.ephemera.event.Ulid;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A real worker ({@link App}) against the test services — Kafka, a fresh PostgreSQL database, a fresh S3 bucket — on
 * topics with a prefix of its own, so test classes sharing the broker never see each other's events. Offers what a
 * test plays: buildomat publishing events, an admin minting tokens, a job running the CLI.
 */
public final class RunningWorker implements AutoCloseable {
  public static final String ADMIN_TOKEN = "admin-token-for-tests-0123456789";
  public static final String SIGNING_KEY = "signing-key-for-tests-0123456789abcdef";

  private final App app;
  private final String bootstrap;
  private final String prefix;
  private final URI url;
  private final KafkaProducer<String, byte[]> producer;
  private final EventCodec codec = new EventCodec();
  private final TopicRecorder outputs;
  private final Map<String, String> settings;

  private RunningWorker(App app, String bootstrap, String prefix, URI url, Map<String, String> settings) {
    this.app = app;
    this.bootstrap = bootstrap;
    this.prefix = prefix;
    this.url = url;
    this.settings = settings;
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    // compressed batches let tests send records larger than the worker accepts, as a compressing producer could
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "zstd");
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(8 << 20));
    this.producer = new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
    this.outputs =
        new TopicRecorder(
            bootstrap, List.of(prefix + Topics.USED, prefix + Topics.LIFECYCLE, prefix + Topics.DLQ));
  }

  /** Starts a worker storing bytes in S3 (S3Proxy). */
  public static RunningWorker start(TestServices services, String name) throws Exception {
    return start(services, name, Map.of());
  }

  public static RunningWorker start(TestServices services, String name, Map<String, String> extra) throws Exception {
    Map<String, String> s = settingsFor(services, name);
    s.putAll(extra);
    return start(s);
  }

  /** Starts a worker in this JVM with exactly these settings (see {@link #settingsFor}). */
  public static RunningWorker start(Map<String, String> s) throws Exception {
    return start(s, dev.ephemera.worker.Faults.NONE);
  }

  /** {@link #start(Map)} with {@code faults} called at the worker's fault points (see {@code Faults}). */
  public static RunningWorker start(Map<String, String> s, dev.ephemera.worker.Faults faults) throws Exception {
    EphemeraConfig config =
        EphemeraConfig.from(Settings.load(EphemeraConfig.DEFAULTS, Optional.empty(), Map.of(), s));
    App app = App.start(config, Clock.systemUTC(), faults);
    return new RunningWorker(
        app, s.get("kafka.bootstrap"), s.get("kafka.topic-prefix"), URI.create(s.get("http.public-url")), s);
  }

  /**
   * Settings of a worker of its own: a fresh database and bucket, topics under a prefix of its own, a free port. Several
   * workers started with the same settings are replicas of one deployment.
   */
  public static Map<String, String> settingsFor(TestServices services, String name) throws IOException {
    PostgresEndpoint db = services.freshDatabase();
    S3Endpoint s3 = services.s3();
    String bucket = services.freshBucket();
    int port = freePort();
    String prefix = name + "-" + System.nanoTime() + ".";
    Map<String, String> s = new LinkedHashMap<>();
    s.put("kafka.bootstrap", services.kafka().bootstrapServers());
    s.put("kafka.group", "ephemera-" + prefix);
    s.put("kafka.topic-prefix", prefix);
    s.put("kafka.partitions", "3");
    s.put("kafka.replication-factor", "1");
    s.put("db.url", db.jdbcUrl());
    s.put("db.user", db.user());
    s.put("db.password", db.password());
    s.put("store.kind", "s3");
    s.put("s3.endpoint", s3.endpoint().toString());
    s.put("s3.region", s3.region());
    s.put("s3.bucket", bucket);
    s.put("s3.path-style", "true");
    s.put("s3.access-key", s3.accessKey());
    s.put("s3.secret-key", s3.secretKey());
    s.put("http.host", "127.0.0.1");
    s.put("http.port", Integer.toString(port));
    s.put("http.public-url", "http://127.0.0.1:" + port);
    s.put("auth.admin-token", ADMIN_TOKEN);
    s.put("auth.signing-key", SIGNING_KEY);
    return s;
  }

  /** A port nobody listens on right now. */
  public static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  public App app() {
    return app;
  }

  public URI url() {
    return url;
  }

  public String bootstrap() {
    return bootstrap;
  }

  /** The physical name of a topic of this worker. */
  public String topic(String logical) {
    return prefix + logical;
  }

  public TopicRecorder outputs() {
    return outputs;
  }

  public Map<String, String> settings() {
    return settings;
  }

  /** A push of {@code repo}'s branch "topic" (default branch main), as buildomat describes the job. */
  public static JobInfo pushJob(String id, Repo repo) {
    return new JobInfo(id, "gong-" + repo.id(), repo, "b".repeat(40), "topic", JobInfo.Trigger.PUSH, null, false,
        "main", "helios-2.0", "build", List.of());
  }

  /** Announces a new {@link #pushJob} of {@code repo} ({@code job.started}); its id. */
  public String startedPushJob(Repo repo) throws Exception {
    String id = Ulid.next();
    publish(CloudEvent.of("urn:buildomat:test", JobStarted.of(pushJob(id, repo))));
    return id;
  }

  /** Announces that {@link #pushJob} {@code id} of {@code repo} succeeded ({@code job.completed}). */
  public void completedPushJob(String id, Repo repo) throws Exception {
    publish(CloudEvent.of("urn:buildomat:test",
        JobCompleted.of(pushJob(id, repo), JobCompleted.Result.SUCCESS, java.time.Instant.now())));
  }

  /** Publishes an event to its topic with its key, as buildomat or an admin would; returns the bytes sent. */
  public byte[] publish(CloudEvent event) throws Exception {
    byte[] bytes = codec.encode(event);
    publishRaw(event.topic(), event.key(), bytes);
    return bytes;
  }

  /** Publishes raw bytes to a logical topic. */
  public void publishRaw(String logicalTopic, String key, byte[] value) throws Exception {
    ProducerRecord<String, byte[]> record = new ProducerRecord<>(prefix + logicalTopic, key, value);
    record.headers().add("content-type", EventCodec.CONTENT_TYPE.getBytes(StandardCharsets.UTF_8));
    producer.send(record).get();
  }

  /**
   * Waits until this worker has applied job {@code id}'s {@code job.started}: until then its job API answers 409 (the
   * CLI retries that; a test calling the API itself waits here).
   */
  public void awaitKnown(String id) throws Exception {
    String token = jobToken(id);
    HttpClient http = HttpClient.newHttpClient();
    HttpRequest staged =
        HttpRequest.newBuilder(url.resolve("/v1/jobs/" + id + "/staged"))
            .header("Authorization", "Bearer " + token)
            .build();
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(60))
        .until(() -> http.send(staged, HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
  }

  /** A job token, minted through the admin API as buildomat would. */
  public String jobToken(String jobId) throws Exception {
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(url.resolve("/v1/admin/tokens"))
                    .header("Authorization", "Bearer " + ADMIN_TOKEN)
                    .POST(HttpRequest.BodyPublishers.ofString("{\"job_id\":\"" + jobId + "\"}"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 201) {
      throw new IllegalStateException("token: " + response.statusCode() + " " + response.body());
    }
    return EventCodec.newMapper().readTree(response.body()).get("token").asText();
  }

  /** What a CLI run printed and returned. */
  public record CliRun(int exit, String out, String err) {}

  /** Runs the job-side CLI in-process, as job {@code jobId}. */
  public CliRun cli(String jobId, String... args) throws Exception {
    List<String> full = new ArrayList<>(List.of(args));
    if (jobId != null) {
      full.addAll(List.of("--url", url.toString(), "--token", jobToken(jobId), "--job", jobId));
    }
    return run(full.toArray(String[]::new));
  }

  /** Runs the CLI in-process with exactly these arguments. */
  public static CliRun run(String... args) {
    return runWith(Map.of(), args);
  }

  /** Runs the CLI in-process with exactly these arguments and this environment (nothing else). */
  public static CliRun runWith(Map<String, String> env, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true), env);
    return new CliRun(exit, out.toString(), err.toString());
  }

  @Override
  public void close() throws Exception {
    try {
      outputs.close();
      producer.close();
    } finally {
      app.close();
    }
  }
}
