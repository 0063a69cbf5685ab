package dev.ephemera.cli;

import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.EventCodec;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Option;

/**
 * How admin commands reach Kafka: the bootstrap servers and the topic prefix the workers use
 * ({@code kafka.topic-prefix}), from flags or the same environment variables as the worker's.
 */
final class AdminKafka {
  @Option(
      names = "--bootstrap",
      paramLabel = "SERVERS",
      description = "Kafka bootstrap servers (default: $EPHEMERA_KAFKA_BOOTSTRAP or localhost:9092).")
  String bootstrap;

  @Option(
      names = "--topic-prefix",
      paramLabel = "PREFIX",
      description = "Prefix of the topic names, as the workers' kafka.topic-prefix (default: $EPHEMERA_KAFKA_TOPIC_PREFIX).")
  String topicPrefix;

  String bootstrap() {
    return bootstrap != null ? bootstrap : "localhost:9092";
  }

  String prefix() {
    return topicPrefix != null ? topicPrefix : "";
  }

  /** The physical name of a logical topic. */
  String topic(String logical) {
    return prefix() + logical;
  }

  /** Publishes the events to their topics (with the prefix) with their keys, waiting for every ack. */
  List<RecordMetadata> publish(List<CloudEvent> events) throws Exception {
    EventCodec codec = new EventCodec();
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer())) {
      List<java.util.concurrent.Future<RecordMetadata>> sent = new java.util.ArrayList<>();
      for (CloudEvent event : events) {
        ProducerRecord<String, byte[]> record =
            new ProducerRecord<>(topic(event.topic()), event.key(), codec.encode(event));
        record.headers().add("content-type", EventCodec.CONTENT_TYPE.getBytes(StandardCharsets.UTF_8));
        sent.add(producer.send(record));
      }
      List<RecordMetadata> out = new java.util.ArrayList<>();
      for (var f : sent) {
        out.add(f.get());
      }
      return out;
    }
  }

  /** Who is asking, for the audit trail: {@code --requested-by} (default: $USER), else the tool's name. */
  static String requester(String explicit, String tool) {
    return explicit == null || explicit.isBlank() ? tool : explicit + " (" + tool + ")";
  }
}
