package dev.ephemera.cli;

import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.EventCodec;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Publishes events the way buildomat and admins do: to the event's topic, keyed as DESIGN.md §4 says, acked by all. */
final class EventPublisher implements AutoCloseable {
  private final KafkaProducer<String, byte[]> producer;

  EventPublisher(String servers) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
    this.producer = new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
  }

  /** Sends {@code bytes} (the encoded {@code event}) and waits for the broker's acknowledgement. */
  RecordMetadata send(CloudEvent event, byte[] bytes) throws Exception {
    ProducerRecord<String, byte[]> record = new ProducerRecord<>(event.topic(), event.key(), bytes);
    record.headers().add("content-type", EventCodec.CONTENT_TYPE.getBytes(StandardCharsets.UTF_8));
    return producer.send(record).get();
  }

  @Override
  public void close() {
    producer.close();
  }
}
