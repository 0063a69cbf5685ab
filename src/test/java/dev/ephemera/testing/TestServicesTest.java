package dev.ephemera.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class TestServicesTest {

  @Test
  void askingForAContainerBrokerWithoutADockerDaemonFailsLoudlyInsteadOfSkipping() {
    var services =
        new TestServices(Map.of("EPHEMERA_TEST_KAFKA", "container", "DOCKER_HOST", "unix:///nonexistent/docker.sock"));
    assertThatThrownBy(services::kafka)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("needs a Docker daemon")
        .hasMessageContaining("unix:///nonexistent/docker.sock");
  }

  @Test
  void anUnknownKafkaModeIsRefused() {
    assertThatThrownBy(() -> new TestServices(Map.of("EPHEMERA_TEST_KAFKA", "cloud")).kafka())
        .hasMessageContaining("'embedded' (default) or 'container'");
  }

  @Test
  void externalServicesAreUsedAsGivenWithoutStartingAnything() {
    var services =
        new TestServices(
            Map.of(
                "EPHEMERA_TEST_KAFKA_BOOTSTRAP", "kafka.example:9092",
                "EPHEMERA_TEST_JDBC_URL", "jdbc:postgresql://db.example/x",
                "EPHEMERA_TEST_S3_ENDPOINT", "http://s3.example:9000"));
    assertThat(services.kafka().bootstrapServers()).isEqualTo("kafka.example:9092");
    assertThat(services.postgres().jdbcUrl()).isEqualTo("jdbc:postgresql://db.example/x");
    assertThat(services.s3().endpoint().toString()).isEqualTo("http://s3.example:9000");
  }
}
