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

  /** A unix socket that exists, or a TCP address that accepts a connection. */
  static boolean daemonReachable(String dockerHost) {
    if (dockerHost.isBlank() || dockerHost.startsWith("unix://")) {
      String path = dockerHost.isBlank() ? "/var/run/docker.sock" : dockerHost.substring("unix://".length());
      return Files.exists(Path.of(path));
    }
    try {
      java.net.URI uri = java.net.URI.create(dockerHost.replaceFirst("^tcp://", "http://"));
      try (java.net.Socket s = new java.net.Socket()) {
        s.connect(new java.net.InetSocketAddress(uri.getHost(), uri.getPort()), 1000);
        return true;
      }
    } catch (IllegalArgumentException | java.io.IOException e) {
      return false;
    }
  }

  static String start(List<AutoCloseable> started, java.util.Map<String, String> env) {
    String dockerHost = env.getOrDefault("DOCKER_HOST", "");
    if (!daemonReachable(dockerHost)) {
      throw new IllegalStateException(
          "EPHEMERA_TEST_KAFKA=container needs a Docker daemon, but none answers at "
              + (dockerHost.isBlank() ? "/var/run/docker.sock" : dockerHost)
              + "; unset EPHEMERA_TEST_KAFKA to use the embedded KRaft broker");
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
