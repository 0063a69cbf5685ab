package dev.ephemera.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.EventCodec;
import dev.ephemera.event.JobInfo;
import dev.ephemera.event.JobStarted;
import dev.ephemera.event.Repo;
import dev.ephemera.event.Topics;
import dev.ephemera.event.Ulid;
import dev.ephemera.testing.RealServices;
import dev.ephemera.testing.RunningWorker;
import dev.ephemera.testing.TestServices;
import dev.ephemera.testing.TopicRecorder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Malformed input of every kind goes to {@code ephemera.dlq} with its reason and original bytes, is counted, and does
 * not block the partition: a valid event published after the bad ones on the same key is applied.
 */
@ExtendWith(RealServices.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DeadLetterIT {
  private static final ObjectMapper JSON = EventCodec.newMapper();
  private static final String OWNER = "gong-77";
  private RunningWorker worker;
  private final EventCodec codec = new EventCodec();

  @BeforeAll
  void start(TestServices services) throws Exception {
    worker = RunningWorker.start(services, "dlq");
  }

  @AfterAll
  void stop() throws Exception {
    worker.close();
  }

  private CloudEvent started(String job) {
    return CloudEvent.of(
        "urn:test",
        JobStarted.of(
            new JobInfo(
                job, OWNER, new Repo("o", "r", 77), "b".repeat(40), "feature", JobInfo.Trigger.PUSH, null, false,
                "main", "default", "build", List.of())));
  }

  private JsonNode deadLetterFor(String marker) {
    ConsumerRecord<String, byte[]> r =
        worker
            .outputs()
            .await(
                rec ->
                    rec.topic().endsWith(Topics.DLQ)
                        && new String(Base64.getDecoder().decode(TopicRecorder.json(rec.value()).get("value_base64").asText()),
                                StandardCharsets.UTF_8)
                            .contains(marker));
    assertThat(r.key()).isEqualTo(OWNER);
    return TopicRecorder.json(r.value());
  }

  @Test
  void everyKindOfMalformedInputIsDeadLetteredWithItsReasonAndThePartitionMovesOn() throws Exception {
    // not JSON
    worker.publishRaw(Topics.BUILDOMAT_JOBS, OWNER, "not json {marker-1".getBytes(StandardCharsets.UTF_8));
    // valid JSON, wrong schema: a required field missing
    ObjectNode missing = (ObjectNode) codec.toTree(started(Ulid.next()));
    ((ObjectNode) missing.get("data")).remove("owner");
    missing.put("marker", "marker-2");
    worker.publishRaw(Topics.BUILDOMAT_JOBS, OWNER, JSON.writeValueAsBytes(missing));
    // unknown type
    ObjectNode unknown = (ObjectNode) codec.toTree(started(Ulid.next()));
    unknown.put("type", "job.startd");
    unknown.put("marker", "marker-3");
    worker.publishRaw(Topics.BUILDOMAT_JOBS, OWNER, JSON.writeValueAsBytes(unknown));
    // an event on the wrong topic
    ObjectNode wrongTopic = (ObjectNode) codec.toTree(started(Ulid.next()));
    wrongTopic.put("marker", "marker-4");
    worker.publishRaw(Topics.CONTROL, OWNER, JSON.writeValueAsBytes(wrongTopic));
    // a huge payload
    byte[] huge = new byte[1_100_000];
    java.util.Arrays.fill(huge, (byte) 'x');
    byte[] hugeJson = ("{\"marker\":\"marker-5\",\"pad\":\"" + new String(huge, StandardCharsets.US_ASCII) + "\"}").getBytes(StandardCharsets.UTF_8);
    worker.publishRaw(Topics.BUILDOMAT_JOBS, OWNER, hugeJson);
    // a duplicate id with different content
    String job = Ulid.next();
    CloudEvent first = started(job);
    worker.publish(first);
    ObjectNode tampered = (ObjectNode) codec.toTree(first);
    ((ObjectNode) tampered.get("data")).put("head_branch", "other");
    tampered.put("marker", "marker-6");
    worker.publishRaw(Topics.BUILDOMAT_JOBS, OWNER, JSON.writeValueAsBytes(tampered));
    // and then a valid event, on the same key (same partition), after all of them
    String after = Ulid.next();
    worker.publish(started(after));

    assertThat(deadLetterFor("marker-1").get("reason").asText()).startsWith("not JSON");
    assertThat(deadLetterFor("marker-2").get("reason").asText()).contains("data.owner");
    assertThat(deadLetterFor("marker-3").get("reason").asText()).contains("unknown event type \"job.startd\"");
    JsonNode wrong = deadLetterFor("marker-4");
    assertThat(wrong.get("reason").asText()).contains("does not belong on topic ephemera.control");
    assertThat(wrong.get("topic").asText()).isEqualTo(Topics.CONTROL);
    JsonNode tooBig = deadLetterFor("marker-5");
    assertThat(tooBig.get("reason").asText()).contains("limit");
    assertThat(tooBig.get("value_size").asLong()).isEqualTo(hugeJson.length);
    JsonNode dup = deadLetterFor("marker-6");
    assertThat(dup.get("reason").asText()).contains("already applied with different content");
    assertThat(dup.get("event_id").asText()).isEqualTo(first.id());

    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(60))
        .until(() -> worker.app().catalog().jdbi().withHandle(h ->
            h.createQuery("select count(*) from jobs where job_id = :j").bind("j", after).mapTo(Integer.class).one()) == 1);
    // the original of the duplicate id stands as first applied
    String branch =
        worker.app().catalog().jdbi().withHandle(h ->
            h.createQuery("select head_branch from jobs where job_id = :j").bind("j", job).mapTo(String.class).one());
    assertThat(branch).isEqualTo("feature");

    String metrics =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(worker.url().resolve("/metrics")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString())
            .body();
    assertThat(metrics)
        .contains("ephemera_dlq_total{reason=\"not_json\",topic=\"buildomat.jobs\"} 1.0")
        .contains("ephemera_dlq_total{reason=\"duplicate_id\",topic=\"buildomat.jobs\"} 1.0")
        .contains("ephemera_dlq_total{reason=\"wrong_topic\",topic=\"ephemera.control\"} 1.0");
  }

  @Test
  void aRedeliveredPoisonRecordIsDeadLetteredOnceAndARedeliveredEventAppliedOnce() {
    var catalog = worker.app().catalog();
    var applier =
        new EventApplier(
            catalog,
            codec,
            new dev.ephemera.auth.DownloadLinks(
                worker.url(),
                new dev.ephemera.auth.Signer(
                    RunningWorker.SIGNING_KEY.getBytes(StandardCharsets.UTF_8), java.time.Clock.systemUTC()),
                java.time.Duration.ofDays(1)),
            new Control(java.time.Clock.systemUTC(), new dev.ephemera.metrics.Meters(
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry()), gc -> {}),
            "urn:test",
            java.time.Clock.systemUTC(),
            new dev.ephemera.metrics.Meters(new io.micrometer.core.instrument.simple.SimpleMeterRegistry()),
            EventApplier.Settler.NONE);
    var poison =
        new EventApplier.Incoming(Topics.BUILDOMAT_JOBS, 99, 12345, OWNER.getBytes(StandardCharsets.UTF_8),
            "garbage".getBytes(StandardCharsets.UTF_8));
    long before = dlqRows(catalog);
    assertThat(applier.apply(poison)).isInstanceOf(EventApplier.DeadLettered.class);
    assertThat(applier.apply(poison)).isInstanceOf(EventApplier.DeadLettered.class);
    assertThat(dlqRows(catalog)).isEqualTo(before + 1);

    CloudEvent event = started(Ulid.next());
    var valid = new EventApplier.Incoming(Topics.BUILDOMAT_JOBS, 99, 12346, OWNER.getBytes(StandardCharsets.UTF_8),
        codec.encode(event));
    assertThat(applier.apply(valid)).isInstanceOf(EventApplier.Applied.class);
    assertThat(applier.apply(valid)).isInstanceOf(EventApplier.Duplicate.class);
  }

  private static long dlqRows(dev.ephemera.catalog.Catalog catalog) {
    return catalog.jdbi().withHandle(h ->
        h.createQuery("select count(*) from outbox where topic = :t").bind("t", Topics.DLQ).mapTo(Long.class).one());
  }
}
