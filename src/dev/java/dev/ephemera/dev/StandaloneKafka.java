package dev.ephemera.dev;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.Set;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * A real single-node KRaft broker (combined broker + controller) from Kafka's own server classes, with fixed ports and
 * a data directory that survives restarts: what {@code make run} uses so a second run finds its topics and offsets.
 * The directory is formatted once (like {@code kafka-storage format --standalone}).
 */
public final class StandaloneKafka implements AutoCloseable {
  private final KafkaRaftServer server;
  private final int port;

  private StandaloneKafka(KafkaRaftServer server, int port) {
    this.server = server;
    this.port = port;
  }

  public static StandaloneKafka start(Path dataDir, int port, int controllerPort) throws Exception {
    Files.createDirectories(dataDir);
    String logDir = dataDir.toAbsolutePath().toString();
    Properties p = new Properties();
    p.put("process.roles", "broker,controller");
    p.put("node.id", "1");
    p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
    p.put("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
    p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
    p.put("controller.listener.names", "CONTROLLER");
    p.put("inter.broker.listener.name", "PLAINTEXT");
    p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    p.put("log.dirs", logDir);
    p.put("offsets.topic.replication.factor", "1");
    p.put("offsets.topic.num.partitions", "1");
    p.put("transaction.state.log.replication.factor", "1");
    p.put("transaction.state.log.min.isr", "1");
    p.put("group.initial.rebalance.delay.ms", "0");
    p.put("num.partitions", "4");
    p.put("auto.create.topics.enable", "false");
    p.put("log.retention.hours", "168");
    KafkaConfig config = KafkaConfig.fromProps(p, false);
    if (!Files.exists(dataDir.resolve("meta.properties"))) {
      new Formatter()
          .setPrintStream(System.err)
          .setNodeId(1)
          .setClusterId(Uuid.randomUuid().toString())
          .setDirectories(Set.of(logDir))
          .setMetadataLogDirectory(logDir)
          .setControllerListenerName("CONTROLLER")
          .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
          .setIgnoreFormatted(true)
          .run();
    }
    KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
    server.startup();
    return new StandaloneKafka(server, port);
  }

  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  @Override
  public void close() {
    server.shutdown();
    server.awaitShutdown();
  }
}
