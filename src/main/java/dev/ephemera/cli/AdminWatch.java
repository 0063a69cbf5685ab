package dev.ephemera.cli;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code ephemera admin watch TOPIC...}: print events from the start of the topics (outside any group). */
@Command(name = "watch", mixinStandardHelpOptions = true, description = "Print the events of topics, from the start.")
public final class AdminWatch implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(paramLabel = "TOPIC", arity = "1..*") List<String> topics;

  @Option(names = "--bootstrap", description = "Kafka bootstrap servers (default: $EPHEMERA_KAFKA_BOOTSTRAP).")
  String bootstrap;

  @Option(names = "--for", paramLabel = "DURATION", description = "Stop after this long (default: run until Ctrl-C).")
  String duration;

  @Override
  public Integer call() {
    Properties props = new Properties();
    props.put(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
        bootstrap != null ? bootstrap : "localhost:9092");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.GROUP_ID_CONFIG, "ephemera-watch-" + ProcessHandle.current().pid());
    long end =
        duration == null
            ? Long.MAX_VALUE
            : System.nanoTime() + dev.ephemera.config.Settings.parseDuration("--for", duration).toNanos();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(topics);
      while (System.nanoTime() < end) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(250))) {
          spec.commandLine()
              .getOut()
              .printf("%s-%d@%d key=%s %s%n", r.topic(), r.partition(), r.offset(), r.key(),
                  new String(r.value(), StandardCharsets.UTF_8));
          spec.commandLine().getOut().flush();
        }
      }
    }
    return 0;
  }
}
