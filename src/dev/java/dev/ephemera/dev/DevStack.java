package dev.ephemera.dev;

import dev.ephemera.App;
import dev.ephemera.config.EphemeraConfig;
import dev.ephemera.config.Settings;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.DriverManager;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;

/**
 * {@code make run}: Ephemera on its embedded default, in one process group — a real KRaft Kafka broker, a real
 * PostgreSQL server, a local-directory object store, and the worker with its HTTP API. Everything lives under one data
 * directory ({@code .ephemera-data} or {@code $EPHEMERA_DATA}); a second run reuses it. Ctrl-C stops everything.
 *
 * <p>Ports (override with the environment): Kafka {@code EPHEMERA_DEV_KAFKA_PORT} (19092, controller +1), PostgreSQL
 * {@code EPHEMERA_DEV_PG_PORT} (15432), API {@code EPHEMERA_HTTP_PORT} (8080).
 */
public final class DevStack implements AutoCloseable {
  private final List<AutoCloseable> parts = new ArrayList<>();
  private final Path data;
  private final Map<String, String> env = new LinkedHashMap<>();
  private App app;

  private final int kafkaPort;
  private final int pgPort;
  private final int httpPort;

  private DevStack(Path data, int kafkaPort, int pgPort, int httpPort) {
    this.data = data;
    this.kafkaPort = kafkaPort;
    this.pgPort = pgPort;
    this.httpPort = httpPort;
  }

  public static void main(String[] args) throws Exception {
    Path data = Path.of(System.getenv().getOrDefault("EPHEMERA_DATA", ".ephemera-data")).toAbsolutePath();
    DevStack stack = DevStack.start(data, System.out);
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.err.println("\nephemera: stopping (worker, Kafka, PostgreSQL)...");
                  try {
                    stack.close();
                  } catch (Exception e) {
                    System.err.println("ephemera: stopping failed: " + e);
                  }
                  done.countDown();
                }));
    stack.printBanner(System.out);
    done.await();
  }

  /** Starts every part, or stops what started and rethrows. */
  public static DevStack start(Path data, PrintStream log) throws Exception {
    return start(
        data,
        log,
        port("EPHEMERA_DEV_KAFKA_PORT", 19092),
        port("EPHEMERA_DEV_PG_PORT", 15432),
        port("EPHEMERA_HTTP_PORT", 8080));
  }

  /** Starts every part on the given ports, or stops what started and rethrows. */
  public static DevStack start(Path data, PrintStream log, int kafkaPort, int pgPort, int httpPort) throws Exception {
    DevStack stack = new DevStack(data, kafkaPort, pgPort, httpPort);
    try {
      stack.startParts(log);
      return stack;
    } catch (Exception e) {
      stack.close();
      throw e;
    }
  }

  private void startParts(PrintStream log) throws Exception {
    Files.createDirectories(data);
    lock();
    Properties secrets = secrets(data.resolve("secrets.properties"));

    log.println("ephemera: starting Kafka (KRaft) on 127.0.0.1:" + kafkaPort + " ...");
    StandaloneKafka kafka = StandaloneKafka.start(data.resolve("kafka"), kafkaPort, kafkaPort + 1);
    parts.add(kafka);
    log.println("ephemera: starting PostgreSQL on 127.0.0.1:" + pgPort + " ...");
    // Stopped by close(), after the worker and Kafka (main's shutdown hook), not by a hook of its own.
    EmbeddedPostgresServer pg = EmbeddedPostgresServer.start(data.resolve("postgres"), pgPort, false);
    parts.add(pg);
    createDatabase(pg, "ephemera");

    env.put("EPHEMERA_KAFKA_BOOTSTRAP", kafka.bootstrapServers());
    env.put("EPHEMERA_KAFKA_PARTITIONS", "4");
    env.put("EPHEMERA_KAFKA_REPLICATION_FACTOR", "1");
    env.put("EPHEMERA_DB_URL", pg.jdbcUrl("ephemera"));
    env.put("EPHEMERA_DB_USER", EmbeddedPostgresServer.USER);
    env.put("EPHEMERA_DB_PASSWORD", EmbeddedPostgresServer.PASSWORD);
    env.put("EPHEMERA_STORE_KIND", "local");
    env.put("EPHEMERA_STORE_DIR", data.resolve("objects").toString());
    env.put("EPHEMERA_HTTP_HOST", "127.0.0.1");
    env.put("EPHEMERA_HTTP_PORT", Integer.toString(httpPort));
    env.put("EPHEMERA_HTTP_PUBLIC_URL", "http://127.0.0.1:" + httpPort);
    env.put("EPHEMERA_AUTH_ADMIN_TOKEN", secrets.getProperty("admin-token"));
    env.put("EPHEMERA_AUTH_SIGNING_KEY", secrets.getProperty("signing-key"));
    Map<String, String> merged = new LinkedHashMap<>(System.getenv());
    merged.putAll(env);
    EphemeraConfig config =
        EphemeraConfig.from(Settings.load(EphemeraConfig.DEFAULTS, Optional.empty(), merged, Map.of()));
    log.println("ephemera: starting the worker ...");
    app = App.start(config, Clock.systemUTC());
    parts.add(app);
    writeEnvFile();
  }

  /** One stack per data directory: a second one would corrupt the broker's and the database's files. */
  private void lock() throws IOException {
    java.nio.channels.FileChannel channel =
        java.nio.channels.FileChannel.open(
            data.resolve(".lock"),
            java.nio.file.StandardOpenOption.CREATE,
            java.nio.file.StandardOpenOption.WRITE);
    java.nio.channels.FileLock lock = channel.tryLock();
    if (lock == null) {
      channel.close();
      throw new IllegalStateException(
          "another `make run` is already using " + data + "; stop it first (or set EPHEMERA_DATA to another directory)");
    }
    parts.add(channel);
  }

  /** The settings a client needs ({@code EPHEMERA_URL}, the admin token, Kafka), also written to {@code dev.env}. */
  public Map<String, String> clientEnv() {
    Map<String, String> client = new LinkedHashMap<>();
    client.put("EPHEMERA_URL", env.get("EPHEMERA_HTTP_PUBLIC_URL"));
    client.put("EPHEMERA_ADMIN_TOKEN", env.get("EPHEMERA_AUTH_ADMIN_TOKEN"));
    client.put("EPHEMERA_KAFKA_BOOTSTRAP", env.get("EPHEMERA_KAFKA_BOOTSTRAP"));
    return Collections.unmodifiableMap(client);
  }

  public App app() {
    return app;
  }

  private void writeEnvFile() throws IOException {
    StringBuilder sb = new StringBuilder("# written by make run; source it: . .ephemera-data/dev.env\n");
    clientEnv().forEach((k, v) -> sb.append("export ").append(k).append('=').append(v).append('\n'));
    Files.writeString(data.resolve("dev.env"), sb.toString());
  }

  void printBanner(PrintStream out) {
    Map<String, String> c = clientEnv();
    String bootstrap = c.get("EPHEMERA_KAFKA_BOOTSTRAP");
    out.println();
    out.println("Ephemera is running (data: " + data + ")");
    out.println("  API, /metrics, /health/ready  " + c.get("EPHEMERA_URL"));
    out.println("  Kafka                         " + bootstrap);
    out.println("  PostgreSQL                    " + env.get("EPHEMERA_DB_URL") + " (postgres/postgres)");
    out.println("  object store                  " + env.get("EPHEMERA_STORE_DIR"));
    out.println("  admin token                   " + c.get("EPHEMERA_ADMIN_TOKEN"));
    out.println();
    out.println("Try it in another terminal (or run `make demo`, which does all of this):");
    out.println();
    out.println("  . .ephemera-data/dev.env");
    out.println("  mkdir -p /tmp/eph/registry && seq 1 100000 > /tmp/eph/registry/index.txt");
    out.println("  # job A: a pull request; buildomat says it started, and asks for its token");
    out.println("  export BUILDOMAT_JOB_ID=$(bin/ephemera admin emit started --pr 1432 --branch fix-flake --declare registry)");
    out.println("  export EPHEMERA_TOKEN=$(bin/ephemera admin token $BUILDOMAT_JOB_ID)");
    out.println("  bin/ephemera restore registry            # a miss: nothing persisted yet (exit 0)");
    out.println("  bin/ephemera persist registry /tmp/eph/registry");
    out.println("  bin/ephemera admin emit completed --job $BUILDOMAT_JOB_ID --pr 1432 --branch fix-flake --result success");
    out.println("  # job B: the same pull request, later, on a pristine machine");
    out.println("  rm -rf /tmp/eph/registry");
    out.println("  export BUILDOMAT_JOB_ID=$(bin/ephemera admin emit started --pr 1432 --branch fix-flake --declare registry)");
    out.println("  export EPHEMERA_TOKEN=$(bin/ephemera admin token $BUILDOMAT_JOB_ID)");
    out.println("  bin/ephemera restore --all               # unfurls /tmp/eph/registry, verified");
    out.println("  bin/ephemera admin emit completed --job $BUILDOMAT_JOB_ID --pr 1432 --branch fix-flake --result success");
    out.println("  bin/ephemera admin watch ephemera.used   # what the job reporter sees (Ctrl-C to stop)");
    out.println();
    out.println("Ctrl-C stops everything; `make run` again reuses the data.");
    out.flush();
  }

  private static Properties secrets(Path file) throws IOException {
    Properties p = new Properties();
    if (Files.exists(file)) {
      try (var in = Files.newInputStream(file)) {
        p.load(in);
      }
      return p;
    }
    SecureRandom random = new SecureRandom();
    byte[] admin = new byte[16];
    byte[] key = new byte[32];
    random.nextBytes(admin);
    random.nextBytes(key);
    p.setProperty("admin-token", "adm-" + HexFormat.of().formatHex(admin));
    p.setProperty("signing-key", HexFormat.of().formatHex(key));
    try (var out = Files.newOutputStream(file)) {
      p.store(out, "make run's secrets, generated once");
    }
    return p;
  }

  private static void createDatabase(EmbeddedPostgresServer pg, String name) throws Exception {
    try (var c =
            DriverManager.getConnection(
                pg.jdbcUrl("postgres"), EmbeddedPostgresServer.USER, EmbeddedPostgresServer.PASSWORD);
        var s = c.createStatement()) {
      var rs = s.executeQuery("select 1 from pg_database where datname = '" + name + "'");
      if (!rs.next()) {
        s.execute("create database " + name);
      }
    }
  }

  private static int port(String variable, int fallback) {
    String v = System.getenv(variable);
    return v == null || v.isBlank() ? fallback : Integer.parseInt(v.trim());
  }

  @Override
  public void close() throws Exception {
    for (int i = parts.size() - 1; i >= 0; i--) {
      try {
        parts.get(i).close();
      } catch (Exception e) {
        System.err.println("ephemera: stopping " + parts.get(i).getClass().getSimpleName() + " failed: " + e);
      }
    }
    parts.clear();
  }
}
