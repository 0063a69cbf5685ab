package dev.ephemera.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.DriverManager;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

@ExtendWith(RealServices.class)
class RealServicesIT {

  @Test
  void kafkaBrokerDeliversWhatWasProducedToAConsumerGroup(TestServices services) throws Exception {
    String bootstrap = services.kafka().bootstrapServers();
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      admin.createTopics(List.of(new NewTopic("harness.smoke", 2, (short) 1))).all().get();
    }
    Properties producerProps = new Properties();
    producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (var producer = new KafkaProducer<>(producerProps, new StringSerializer(), new StringSerializer())) {
      producer.send(new ProducerRecord<>("harness.smoke", "gong-1", "hello")).get();
    }
    Properties consumerProps = new Properties();
    consumerProps.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    consumerProps.put(ConsumerConfig.GROUP_ID_CONFIG, "harness-smoke");
    consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    try (var consumer = new KafkaConsumer<>(consumerProps, new StringDeserializer(), new StringDeserializer())) {
      consumer.subscribe(List.of("harness.smoke"));
      ConsumerRecord<String, String> received = null;
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (received == null && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
          received = record;
        }
      }
      assertThat(received).isNotNull();
      assertThat(received.key()).isEqualTo("gong-1");
      assertThat(received.value()).isEqualTo("hello");
    }
  }

  @Test
  void freshDatabasesAreSeparateRealPostgresDatabases(TestServices services) throws Exception {
    PostgresEndpoint first = services.freshDatabase();
    PostgresEndpoint second = services.freshDatabase();
    assertThat(first.jdbcUrl()).isNotEqualTo(second.jdbcUrl());
    try (var c = DriverManager.getConnection(first.jdbcUrl(), first.user(), first.password());
        var s = c.createStatement()) {
      s.execute("CREATE TABLE only_here (x int)");
      var rs = s.executeQuery("SELECT current_setting('server_version_num')::int");
      rs.next();
      assertThat(rs.getInt(1)).isGreaterThanOrEqualTo(140000);
    }
    try (var c = DriverManager.getConnection(second.jdbcUrl(), second.user(), second.password());
        var s = c.createStatement()) {
      var rs = s.executeQuery("SELECT count(*) FROM pg_tables WHERE tablename = 'only_here'");
      rs.next();
      assertThat(rs.getInt(1)).isZero();
    }
  }

  @Test
  void s3ApiStoresAndReturnsObjectsInAFreshBucket(TestServices services) {
    String bucket = services.freshBucket();
    try (S3Client s3 = services.s3Client()) {
      s3.putObject(b -> b.bucket(bucket).key("chunks/abc"), RequestBody.fromString("bytes"));
      assertThat(s3.getObjectAsBytes(b -> b.bucket(bucket).key("chunks/abc")).asUtf8String()).isEqualTo("bytes");
      assertThat(s3.listObjectsV2(b -> b.bucket(bucket)).contents()).hasSize(1);
    }
  }
}
