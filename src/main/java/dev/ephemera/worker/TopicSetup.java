package dev.ephemera.worker;

import dev.ephemera.event.Topics;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

/** Creates Ephemera's topics when they are missing (when {@code kafka.create-topics} is on). */
public final class TopicSetup {
  public static final List<String> ALL =
      List.of(Topics.BUILDOMAT_JOBS, Topics.CONTROL, Topics.USED, Topics.LIFECYCLE, Topics.DLQ);

  private TopicSetup() {}

  public static void ensure(String bootstrap, String prefix, int partitions, short replicationFactor) {
    try (Admin admin =
        Admin.create(
            Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 60_000))) {
      Set<String> existing = admin.listTopics().names().get(60, TimeUnit.SECONDS);
      List<NewTopic> missing = new ArrayList<>();
      for (String logical : ALL) {
        String topic = prefix + logical;
        if (!existing.contains(topic)) {
          missing.add(
              new NewTopic(
                  topic,
                  Optional.of(partitions),
                  replicationFactor < 0 ? Optional.empty() : Optional.of(replicationFactor)));
        }
      }
      if (!missing.isEmpty()) {
        try {
          admin.createTopics(missing).all().get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw e;
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating topics", e);
    } catch (Exception e) {
      throw new IllegalStateException("could not create Kafka topics at " + bootstrap + ": " + e.getMessage(), e);
    }
  }
}
