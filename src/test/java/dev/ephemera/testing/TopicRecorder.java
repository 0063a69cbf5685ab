package dev.ephemera.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ephemera.event.EventCodec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.awaitility.Awaitility;

/** Records every record of some topics from their beginning, on a background thread, for tests to wait on. */
public final class TopicRecorder implements AutoCloseable {
  private static final ObjectMapper JSON = EventCodec.newMapper();

  private final List<ConsumerRecord<String, byte[]>> records = new CopyOnWriteArrayList<>();
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final Thread thread;

  public TopicRecorder(String bootstrap, List<String> topics) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, "recorder-" + System.nanoTime());
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer());
    consumer.subscribe(topics);
    thread =
        new Thread(
            () -> {
              try (consumer) {
                while (running.get()) {
                  for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    records.add(r);
                  }
                }
              }
            },
            "topic-recorder");
    thread.setDaemon(true);
    thread.start();
  }

  public List<ConsumerRecord<String, byte[]>> all() {
    return new ArrayList<>(records);
  }

  public List<ConsumerRecord<String, byte[]>> matching(Predicate<ConsumerRecord<String, byte[]>> p) {
    return records.stream().filter(p).toList();
  }

  /** Waits (up to 60 s) for a record matching {@code p} and returns the first. */
  public ConsumerRecord<String, byte[]> await(Predicate<ConsumerRecord<String, byte[]>> p) {
    Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
        .until(() -> records.stream().anyMatch(p));
    return records.stream().filter(p).findFirst().orElseThrow();
  }

  /** A record's value (an event, a dead letter) as JSON. */
  public static JsonNode json(byte[] value) {
    try {
      return JSON.readTree(value);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Waits (up to 60 s) for the event of {@code type} whose {@code data.field} is {@code value}; its {@code data}. */
  public JsonNode awaitEventData(String type, String field, String value) {
    return json(await(r -> {
          JsonNode n = json(r.value());
          return n.path("type").asText().equals(type) && n.path("data").path(field).asText().equals(value);
        }).value())
        .get("data");
  }

  @Override
  public void close() throws InterruptedException {
    running.set(false);
    thread.join(5000);
  }
}
