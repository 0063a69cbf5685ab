package dev.ephemera.dev.bench;

import dev.ephemera.App;
import dev.ephemera.config.EphemeraConfig;
import dev.ephemera.config.Settings;
import dev.ephemera.dev.EmbeddedKafka;
import dev.ephemera.dev.EmbeddedPostgresServer;
import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.DeclaredSet;
import dev.ephemera.event.EventCodec;
import dev.ephemera.event.JobCompleted;
import dev.ephemera.event.JobInfo;
import dev.ephemera.event.JobStarted;
import dev.ephemera.event.Repo;
import dev.ephemera.event.Topics;
import dev.ephemera.event.Ulid;
import dev.ephemera.worker.TopicSetup;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * {@code make bench-worker}: the worker against a plain Kafka consumer reading the same topic, in one run, on a real
 * KRaft broker and real PostgreSQL. Publishes {@code --events} job events (half {@code job.started}, half
 * {@code job.completed}) for {@code --owners} repositories, each of which has a live set to stage, then measures (1) how
 * fast a plain consumer reads them, (2) how fast the worker applies them (from its first to its last application), and
 * (3) {@code job.started} → {@code ephemera.staged} latency, p50 and p99, at a steady {@code --rate} events/s.
 */
public final class WorkerBenchmark {
  private static final EventCodec CODEC = new EventCodec();

  public static void main(String[] args) throws Exception {
    int events = intArg(args, "--events", 100_000);
    int owners = intArg(args, "--owners", 1_000);
    int rate = intArg(args, "--rate", 500);
    int latencySeconds = intArg(args, "--latency-seconds", 20);
    Path dir = Files.createTempDirectory("ephemera-bench-worker");
    try (EmbeddedKafka kafka = EmbeddedKafka.start(null);
        EmbeddedPostgresServer pg = EmbeddedPostgresServer.start(null, 0)) {
      String bootstrap = kafka.bootstrapServers();
      try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"), "postgres", "postgres")) {
        c.createStatement().execute("create database ephemera");
      }
      Map<String, String> s =
          Map.of(
              "kafka.bootstrap", bootstrap,
              "kafka.partitions", "4",
              "kafka.replication-factor", "1",
              "db.url", pg.jdbcUrl("ephemera"),
              "db.user", "postgres",
              "db.password", "postgres",
              "store.dir", dir.resolve("objects").toString(),
              "http.port", "0",
              "auth.admin-token", "bench-admin-token-0123456789",
              "auth.signing-key", "bench-signing-key-0123456789abcdef0123");
      EphemeraConfig config =
          EphemeraConfig.from(Settings.load(EphemeraConfig.DEFAULTS, Optional.empty(), Map.of(), s));
      TopicSetup.ensure(bootstrap, "", 4, (short) 1);
      // migrate and seed: every owner has a live set "deps" on branch:b, so each job.started stages one set
      dev.ephemera.catalog.Catalog.open(config.database().url(), "postgres", "postgres", 2).close();
      seed(pg.jdbcUrl("ephemera"), owners);

      System.out.printf(Locale.ROOT, "publishing %,d events for %,d owners ...%n", events, owners);
      try (KafkaProducer<String, byte[]> producer = producer(bootstrap)) {
        for (int i = 0; i < events / 2; i++) {
          JobInfo job = job(i % owners);
          send(producer, CloudEvent.of("urn:bench", JobStarted.of(job)));
          send(producer, CloudEvent.of("urn:bench", JobCompleted.of(job, JobCompleted.Result.SUCCESS, Instant.now())));
        }
        producer.flush();
      }

      double plain = plainConsumer(bootstrap, events);
      System.out.printf(Locale.ROOT, "plain consumer: %,d records in %.2f s = %,.0f records/s%n", events, plain, events / plain);

      App app = App.start(config, Clock.systemUTC());
      try (Connection c = DriverManager.getConnection(pg.jdbcUrl("ephemera"), "postgres", "postgres")) {
        long deadline = System.nanoTime() + Duration.ofMinutes(30).toNanos();
        while (count(c, "select count(*) from processed_events") < events && System.nanoTime() < deadline) {
          Thread.sleep(500);
        }
        double worker =
            seconds(c, "select extract(epoch from max(processed_at) - min(processed_at)) from processed_events");
        long applied = count(c, "select count(*) from processed_events");
        System.out.printf(
            Locale.ROOT, "worker: %,d events applied in %.2f s = %,.0f events/s (ratio to plain consumer %.1f)%n",
            applied, worker, applied / worker, worker / plain);

        Map<String, double[]> before = timers(app.apiPort());
        List<Double> latencies = latency(bootstrap, owners, rate, latencySeconds);
        Map<String, double[]> after = timers(app.apiPort());
        Collections.sort(latencies);
        System.out.printf(
            Locale.ROOT, "job.started -> ephemera.staged at %d events/s: %d samples, p50 %.1f ms, p99 %.1f ms%n",
            rate, latencies.size(), pct(latencies, 0.50), pct(latencies, 0.99));
        System.out.println("where the worker's time went during the latency run (its own timers: calls, mean, total):");
        after.forEach((name, a) -> {
          double[] b = before.getOrDefault(name, new double[2]);
          double calls = a[0] - b[0];
          if (calls > 0) {
            System.out.printf(Locale.ROOT, "  %-70s %8.0f  %7.2f ms  %7.2f s%n", name, calls, (a[1] - b[1]) / calls * 1e3, a[1] - b[1]);
          }
        });
      } finally {
        app.close();
      }
    }
  }

  private static void seed(String url, int owners) throws Exception {
    try (Connection c = DriverManager.getConnection(url, "postgres", "postgres")) {
      c.setAutoCommit(false);
      var sets = c.prepareStatement(
          "insert into sets (set_id, owner, name, scope, status, created_by_job, created_at, live_at, completed_at,"
              + " root_path, tar_sha256, tar_size, archive_sha256, archive_size, file_count, chunk_count, manifest)"
              + " values (?, ?, 'deps', 'branch:b', 'live', ?, now(), now(), now(), '/deps', ?, 0, ?, 0, 0, 0, '{}')");
      var heads = c.prepareStatement(
          "insert into heads (owner, name, scope, set_id, set_completed_at, moved_at)"
              + " values (?, 'deps', 'branch:b', ?, now(), now())");
      String zero = "0".repeat(64);
      for (int o = 0; o < owners; o++) {
        String id = Ulid.next();
        sets.setString(1, id);
        sets.setString(2, "gong-" + (o + 1));
        sets.setString(3, Ulid.next());
        sets.setString(4, zero);
        sets.setString(5, zero);
        sets.addBatch();
        heads.setString(1, "gong-" + (o + 1));
        heads.setString(2, id);
        heads.addBatch();
      }
      sets.executeBatch();
      heads.executeBatch();
      c.commit();
    }
  }

  private static JobInfo job(int owner) {
    return new JobInfo(
        Ulid.next(), "gong-" + (owner + 1), new Repo("org", "r" + owner, owner + 1), "f".repeat(40), "b", JobInfo.Trigger.PUSH,
        null, false, "main", "default", "build",
        List.of(new DeclaredSet("deps", List.of("/deps/**/*"), DeclaredSet.When.SUCCESS)));
  }

  private static KafkaProducer<String, byte[]> producer(String bootstrap) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
  }

  private static void send(KafkaProducer<String, byte[]> producer, CloudEvent e) {
    producer.send(new ProducerRecord<>(Topics.BUILDOMAT_JOBS, e.key(), CODEC.encode(e)));
  }

  /** A plain consumer (own group) reading the same topic from the start: the baseline. */
  private static double plainConsumer(String bootstrap, int events) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "plain-" + System.nanoTime());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      c.subscribe(List.of(Topics.BUILDOMAT_JOBS));
      long n = 0;
      long start = 0;
      while (n < events) {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
          if (start == 0) {
            start = System.nanoTime();
          }
          n++;
        }
      }
      c.commitSync();
      return (System.nanoTime() - start) / 1e9;
    }
  }

  /** Publishes job.started at a steady rate; returns publish → ephemera.staged latencies in ms. */
  private static List<Double> latency(String bootstrap, int owners, int rate, int seconds) throws Exception {
    Map<String, Long> sent = new ConcurrentHashMap<>();
    List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "latency-" + System.nanoTime());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
    int total = rate * seconds;
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        KafkaProducer<String, byte[]> producer = producer(bootstrap)) {
      c.subscribe(List.of(Topics.LIFECYCLE));
      while (c.assignment().isEmpty()) {
        c.poll(Duration.ofMillis(100));
      }
      Thread publisher =
          new Thread(
              () -> {
                long start = System.nanoTime();
                for (int i = 0; i < total; i++) {
                  long due = start + (long) (i * 1e9 / rate);
                  // park, not spin: a spinning publisher would take one of the machine's two cores from the worker
                  for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
                    java.util.concurrent.locks.LockSupport.parkNanos(wait);
                  }
                  JobInfo job = job(i % owners);
                  sent.put(job.jobId(), System.nanoTime());
                  send(producer, CloudEvent.of("urn:bench", JobStarted.of(job)));
                }
                producer.flush();
              });
      publisher.start();
      long deadline = System.nanoTime() + Duration.ofSeconds(seconds + 60L).toNanos();
      while (latencies.size() < total && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(50))) {
          long now = System.nanoTime();
          String json = new String(r.value(), StandardCharsets.UTF_8);
          int at = json.indexOf("\"job_id\":\"");
          if (json.contains("\"ephemera.staged\"") && at >= 0) {
            Long t = sent.get(json.substring(at + 10, at + 36));
            if (t != null) {
              latencies.add((now - t) / 1e6);
            }
          }
        }
      }
      publisher.join();
    }
    return latencies;
  }

  /** The worker's timers from its {@code /metrics}: series → {count, sum in seconds}. */
  private static Map<String, double[]> timers(int port) throws Exception {
    var client = java.net.http.HttpClient.newHttpClient();
    String text = client.send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    Map<String, double[]> out = new java.util.TreeMap<>();
    for (String line : text.split("\n")) {
      int space = line.lastIndexOf(' ');
      if (line.startsWith("#") || space < 0) {
        continue;
      }
      String series = line.substring(0, space);
      int slot = series.contains("_seconds_count") ? 0 : series.contains("_seconds_sum") ? 1 : -1;
      if (slot >= 0) {
        String name = series.replace("_seconds_count", "").replace("_seconds_sum", "");
        out.computeIfAbsent(name, k -> new double[2])[slot] = Double.parseDouble(line.substring(space + 1));
      }
    }
    return out;
  }

  private static double pct(List<Double> sorted, double q) {
    return sorted.isEmpty() ? Double.NaN : sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(q * sorted.size()) - 1));
  }

  private static long count(Connection c, String sql) throws Exception {
    try (var rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static double seconds(Connection c, String sql) throws Exception {
    try (var rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      return rs.getDouble(1);
    }
  }

  private static int intArg(String[] args, String name, int fallback) {
    for (int i = 0; i + 1 < args.length; i++) {
      if (args[i].equals(name)) {
        return Integer.parseInt(args[i + 1]);
      }
    }
    return fallback;
  }
}
