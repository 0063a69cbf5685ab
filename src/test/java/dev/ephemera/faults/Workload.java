package dev.ephemera.faults;

import dev.ephemera.auth.Signer;
import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.DeclaredSet;
import dev.ephemera.event.EventCodec;
import dev.ephemera.event.JobCompleted;
import dev.ephemera.event.JobInfo;
import dev.ephemera.event.JobStarted;
import dev.ephemera.event.Repo;
import dev.ephemera.event.Ulid;
import dev.ephemera.testing.RunningWorker;
import dev.ephemera.testing.RunningWorker.CliRun;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Jobs as buildomat runs them, against a worker that may be crashing: each job starts, most persist a small set through
 * the real CLI (which rides out a dead worker by retrying), and completes, some failing. Records every input event id.
 */
final class Workload implements AutoCloseable {
  private final Map<String, String> settings;
  private final KafkaProducer<String, byte[]> producer;
  private final EventCodec codec = new EventCodec();
  private final Signer signer;
  private final Path tmp;
  final List<String> inputIds = new ArrayList<>();

  Workload(Map<String, String> settings, Path tmp) {
    this.settings = settings;
    this.tmp = tmp;
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.get("kafka.bootstrap"));
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "180000");
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "180000");
    this.producer = new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
    this.signer =
        new Signer(RunningWorker.SIGNING_KEY.getBytes(StandardCharsets.UTF_8), Clock.systemUTC());
  }

  /** Runs {@code jobsPerOwner} jobs for each of {@code owners} repositories, interleaved. */
  void run(int owners, int jobsPerOwner) throws Exception {
    for (int j = 0; j < jobsPerOwner; j++) {
      for (int o = 0; o < owners; o++) {
        job(o, j);
      }
    }
    producer.flush();
  }

  private void job(int owner, int n) throws Exception {
    String id = Ulid.next();
    JobInfo job =
        new JobInfo(
            id,
            "gong-" + (1000 + owner),
            new Repo("org", "repo" + owner, 1000 + owner),
            "d".repeat(40),
            "feature-" + (n % 2),
            JobInfo.Trigger.PUSH,
            null,
            false,
            "main",
            "default",
            "build",
            List.of(new DeclaredSet("cache", List.of("/x/**/*"), DeclaredSet.When.SUCCESS)));
    send(CloudEvent.of("urn:test", JobStarted.of(job)));
    if (n % 3 != 2) {
      Path dir = Files.createDirectories(tmp.resolve(id));
      Files.writeString(dir.resolve("shared.txt"), "shared content\n".repeat(2000));
      Files.writeString(dir.resolve("own.txt"), "job " + id + " of owner " + owner + "\n".repeat(100));
      String token = signer.mintJobToken(id, Duration.ofHours(1)).token();
      CliRun run =
          RunningWorker.run(
              "persist", "cache", dir.toString(), "--url", settings.get("http.public-url"), "--token", token,
              "--job", id, "--timeout", "150s", "--strict");
      if (run.exit() != 0) {
        throw new IllegalStateException("persist failed: " + run.err());
      }
    }
    JobCompleted.Result result = n % 5 == 4 ? JobCompleted.Result.FAILURE : JobCompleted.Result.SUCCESS;
    send(CloudEvent.of("urn:test", JobCompleted.of(job, result, Instant.now())));
  }

  private void send(CloudEvent event) throws Exception {
    inputIds.add(event.id());
    producer
        .send(
            new ProducerRecord<>(settings.get("kafka.topic-prefix") + event.topic(), event.key(), codec.encode(event)))
        .get();
  }

  @Override
  public void close() {
    producer.close();
  }
}
