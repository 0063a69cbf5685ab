package dev.ephemera.event;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.ephemera.testing.RealServices;
import dev.ephemera.testing.TestServices;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every valid example event, and a dead letter, through a real broker: encoded by the codec, produced on
 * its topic with its key and the CloudEvents content type, consumed and decoded back to equal records.
 * Topics get a per-run prefix so other tests sharing the broker never see these messages.
 */
@ExtendWith(RealServices.class)
class EventKafkaRoundTripIT {

  private static final EventCodec CODEC = new EventCodec();
  private static final String CONTENT_TYPE = "content-type";

  private final String prefix = "it-events-" + Ulid.next().toLowerCase() + ".";

  @Test
  void everyEventTypeSurvivesAProduceConsumeRoundTripOnItsTopicWithItsKey(TestServices services) throws Exception {
    List<CloudEvent> events = new ArrayList<>();
    for (Examples.Example example : Examples.valid().filter(e -> !e.isDeadLetter()).toList()) {
      events.add(CODEC.decode(example.bytes()));
    }
    assertThat(events.stream().map(CloudEvent::type).distinct()).containsExactlyInAnyOrder(EventType.values());
    String bootstrap = services.kafka().bootstrapServers();
    Set<String> topics = new LinkedHashSet<>();
    events.forEach(e -> topics.add(prefix + e.topic()));
    createTopics(bootstrap, topics);

    try (var producer = producer(bootstrap)) {
      for (CloudEvent event : events) {
        var record = new ProducerRecord<>(prefix + event.topic(), event.key(), CODEC.encode(event));
        record.headers().add(CONTENT_TYPE, EventCodec.CONTENT_TYPE.getBytes(StandardCharsets.UTF_8));
        producer.send(record).get();
      }
    }

    List<ConsumerRecord<String, byte[]>> received = consume(bootstrap, topics, events.size());
    Map<String, CloudEvent> byId = new HashMap<>();
    for (ConsumerRecord<String, byte[]> record : received) {
      CloudEvent event = CODEC.decode(record.value());
      assertThat(record.topic()).isEqualTo(prefix + event.type().topic());
      assertThat(record.key()).isEqualTo(event.data().key());
      Header header = record.headers().lastHeader(CONTENT_TYPE);
      assertThat(new String(header.value(), StandardCharsets.UTF_8)).isEqualTo("application/cloudevents+json");
      byId.put(event.id(), event);
    }
    for (CloudEvent sent : events) {
      assertThat(byId.get(sent.id())).as(sent.type() + " " + sent.id()).isEqualTo(sent);
    }
  }

  @Test
  void aPoisonMessageBecomesADeadLetterThatKeepsItsBytesKeyAndReason(TestServices services) throws Exception {
    String bootstrap = services.kafka().bootstrapServers();
    String jobs = prefix + Topics.BUILDOMAT_JOBS;
    String dlq = prefix + Topics.DLQ;
    createTopics(bootstrap, Set.of(jobs, dlq));
    byte[] poison = "{\"specversion\":\"1.0\",\"type\":\"job.startd\",\"id\":\"01JDA0000000000000000000AA\"}"
        .getBytes(StandardCharsets.UTF_8);
    try (var producer = producer(bootstrap)) {
      producer.send(new ProducerRecord<>(jobs, "gong-445765491", poison)).get();
    }
    ConsumerRecord<String, byte[]> consumed = consume(bootstrap, Set.of(jobs), 1).get(0);
    InvalidEventException invalid = org.junit.jupiter.api.Assertions.assertThrows(
        InvalidEventException.class, () -> CODEC.decode(consumed.value()));

    DeadLetter letter = DeadLetter.of(consumed.topic(), consumed.partition(), consumed.offset(),
        consumed.key().getBytes(StandardCharsets.UTF_8), consumed.value(), invalid.getMessage(),
        Instant.parse("2026-11-25T10:00:00Z"), invalid.eventId(), invalid.eventType());
    try (var producer = producer(bootstrap)) {
      var record = new ProducerRecord<>(dlq, consumed.key(), CODEC.encode(letter));
      record.headers().add(CONTENT_TYPE, EventCodec.DLQ_CONTENT_TYPE.getBytes(StandardCharsets.UTF_8));
      producer.send(record).get();
    }
    DeadLetter read = CODEC.decodeDeadLetter(consume(bootstrap, Set.of(dlq), 1).get(0).value());

    assertThat(read).isEqualTo(letter);
    assertThat(read.value()).isEqualTo(poison);
    assertThat(read.reason()).startsWith("unknown event type \"job.startd\"");
    assertThat(read.eventType()).isEqualTo("job.startd");
    assertThat(read.eventId()).isEqualTo("01JDA0000000000000000000AA");
    assertThat(read.key()).isEqualTo("gong-445765491");
    assertThatThrownBy(() -> CODEC.decode(CODEC.encode(letter))).isInstanceOf(InvalidEventException.class);
  }

  private static void createTopics(String bootstrap, Set<String> topics) throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      admin.createTopics(topics.stream().map(t -> new NewTopic(t, 3, (short) 1)).toList()).all().get();
    }
  }

  private static KafkaProducer<String, byte[]> producer(String bootstrap) {
    return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        ProducerConfig.ACKS_CONFIG, "all"), new StringSerializer(), new ByteArraySerializer());
  }

  private List<ConsumerRecord<String, byte[]>> consume(String bootstrap, Set<String> topics, int count) {
    Map<String, Object> config = Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        ConsumerConfig.GROUP_ID_CONFIG, prefix + "reader-" + Ulid.next(),
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    List<ConsumerRecord<String, byte[]>> received = new ArrayList<>();
    try (var consumer = new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(topics);
      await().atMost(Duration.ofSeconds(60)).pollInSameThread().pollInterval(Duration.ZERO).until(() -> {
        consumer.poll(Duration.ofMillis(200)).forEach(received::add);
        return received.size() >= count;
      });
    }
    assertThat(received).hasSize(count);
    return received;
  }
}
