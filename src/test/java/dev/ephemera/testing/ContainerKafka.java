package dev.ephemera.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The Testcontainers path for Kafka, asked for with {@code EPHEMERA_TEST_KAFKA=container}. It needs a Docker daemon; when
 * there is none the run fails with a message saying so, because a silently skipped broker would check nothing.
 */
final class ContainerKafka {
  private ContainerKafka() {}

  static String start(List<AutoCloseable> started) {
    String dockerHost = System.getenv("DOCKER_HOST");
    boolean socket = Files.exists(Path.of("/var/run/docker.sock"));
    if ((dockerHost == null || dockerHost.isBlank()) && !socket) {
      throw new IllegalStateException(
          "EPHEMERA_TEST_KAFKA=container needs a Docker daemon, but neither DOCKER_HOST nor /var/run/docker.sock"
              + " exists; unset EPHEMERA_TEST_KAFKA to use the embedded KRaft broker");
    }
    try {
      Class<?> type = Class.forName("org.testcontainers.kafka.KafkaContainer");
      Object container = type.getConstructor(String.class).newInstance("apache/kafka:4.1.1");
      type.getMethod("start").invoke(container);
      started.add((AutoCloseable) container);
      return (String) type.getMethod("getBootstrapServers").invoke(container);
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException(
          "EPHEMERA_TEST_KAFKA=container needs Testcontainers on the test classpath: run with -Pcontainers", e);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("could not start a Testcontainers Kafka broker: " + e.getCause(), e);
    }
  }
}
