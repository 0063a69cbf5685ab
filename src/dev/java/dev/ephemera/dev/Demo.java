package dev.ephemera.dev;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ephemera.event.EventCodec;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * {@code make demo}: the README's example, step by step, with the real {@code bin/ephemera} commands a job and
 * buildomat would run — against {@code make run}'s stack when it is up, else against a stack of its own. Two jobs of
 * one pull request: the first misses, persists and succeeds; the second is staged the set, restores it on a pristine
 * tree (checked with {@code diff -r}), persists a barely-changed copy (only the changed chunks go up), and its
 * {@code ephemera.used} event — what the job reporter attaches to the check run — is printed and its link unpacked.
 */
public final class Demo {
  private static final ObjectMapper JSON = EventCodec.newMapper();
  private final Map<String, String> env = new LinkedHashMap<>();
  private final Path bin;

  private Demo(Path bin) {
    this.bin = bin;
  }

  public static void main(String[] args) throws Exception {
    Path project = Path.of("").toAbsolutePath();
    Path bin = project.resolve("bin/ephemera");
    Path envFile = project.resolve(".ephemera-data/dev.env");
    DevStack own = null;
    Map<String, String> stackEnv = readEnv(envFile);
    if (stackEnv.isEmpty() || !ready(stackEnv.get("EPHEMERA_URL"))) {
      System.out.println("== make run's stack is not up: starting a stack of its own for the demo (target/demo-data)");
      Path data = project.resolve("target/demo-data");
      System.setProperty("ephemera.demo", "true");
      own = DevStack.start(data, System.out, 29092, 25432, 28080);
      stackEnv = own.clientEnv();
    } else {
      System.out.println("== using make run's stack at " + stackEnv.get("EPHEMERA_URL"));
    }
    int exit;
    try {
      Demo demo = new Demo(bin);
      demo.env.putAll(stackEnv);
      exit = demo.run(Files.createTempDirectory("ephemera-demo-"));
    } finally {
      if (own != null) {
        own.close();
      }
    }
    System.exit(exit);
  }

  private int run(Path work) throws Exception {
    Path dir = work.resolve("registry");
    Path reference = work.resolve("reference");
    Path source = Path.of(System.getProperty("user.home"), ".m2/repository/org/apache/kafka");
    step("A real tree to keep: a copy of " + source + " (what a cargo registry or ~/.m2 is to a build)");
    if (Files.isDirectory(source)) {
      sh("cp -r " + q(source) + " " + q(dir) + " && cp -r " + q(dir) + " " + q(reference));
    } else {
      sh("mkdir -p " + q(dir) + " && for i in $(seq 1 200); do head -c 200000 /dev/urandom > " + q(dir)
          + "/blob$i; done && cp -r " + q(dir) + " " + q(reference));
    }
    sh("du -sh " + q(dir) + " && find " + q(dir) + " -type f | wc -l");

    step("Job A, pull request #1432: buildomat publishes job.started and asks the admin API for its token");
    String jobA = capture("admin", "emit", "started", "--pr", "1432", "--branch", "fix-flake", "--declare", "registry");
    env.put("BUILDOMAT_JOB_ID", jobA);
    env.put("EPHEMERA_TOKEN", capture("admin", "token", jobA));
    step("Inside job A: restore (on a fresh stack a miss: nothing persisted yet; it says so and exits 0)");
    ephemera("restore", "registry");
    step("Inside job A: persist the tree");
    ephemera("persist", "registry", dir.toString());
    step("Job A succeeds: buildomat publishes job.completed; the set becomes live");
    ephemera("admin", "emit", "completed", "--job", jobA, "--pr", "1432", "--branch", "fix-flake", "--result", "success");
    awaitLifecycle("ephemera.captured", jobA);

    step("Job B, the same pull request later, on a pristine machine (the tree is gone)");
    sh("rm -rf " + q(dir));
    String jobB = capture("admin", "emit", "started", "--pr", "1432", "--branch", "fix-flake", "--declare", "registry");
    env.put("BUILDOMAT_JOB_ID", jobB);
    env.put("EPHEMERA_TOKEN", capture("admin", "token", jobB));
    awaitLifecycle("ephemera.staged", jobB);
    step("Inside job B: restore --all unfurls every set staged for the job, verified chunk by chunk");
    ephemera("restore", "--all");
    sh("diff -r " + q(reference) + " " + q(dir) + " && echo 'identical to what job A persisted'");
    step("Inside job B: one file changed; persisting again uploads only the chunks that changed");
    sh("f=$(find " + q(dir) + " -name '*.pom' | head -1); echo '<!-- changed by job B -->' >> \"$f\"; echo changed $f");
    ephemera("persist", "registry", dir.toString());
    step("Job B succeeds; the job reporter reads ephemera.used for job B");
    ephemera("admin", "emit", "completed", "--job", jobB, "--pr", "1432", "--branch", "fix-flake", "--result", "success");
    JsonNode used = awaitUsed(jobB);
    System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(used));
    String link = used.get("data").get("sets").get(0).get("download_url").asText();
    step("Anyone with the link reproduces job B's starting point: ephemera unpack LINK DIR checks the sha256");
    ephemera("unpack", link, work.resolve("from-link").toString());
    sh("diff -r " + q(reference) + " " + q(work.resolve("from-link")) + " && echo 'the link holds exactly that tree'");
    sh("rm -rf " + q(work));
    System.out.println("\n== demo finished");
    return 0;
  }

  private static void step(String text) {
    System.out.println("\n== " + text);
  }

  private static String q(Path p) {
    return "'" + p.toString().replace("'", "'\\''") + "'";
  }

  private void ephemera(String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(bin.toString());
    cmd.addAll(List.of(args));
    System.out.println("$ ephemera " + String.join(" ", args));
    int exit = process(cmd, true).waitFor();
    if (exit != 0) {
      throw new IllegalStateException("ephemera " + args[0] + " exited " + exit);
    }
  }

  private String capture(String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(bin.toString());
    cmd.addAll(List.of(args));
    System.out.println("$ ephemera " + String.join(" ", args));
    Process p = process(cmd, false);
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    if (p.waitFor() != 0) {
      throw new IllegalStateException("ephemera " + args[0] + " failed");
    }
    System.out.println(out.length() > 60 ? out.substring(0, 24) + "..." : out);
    return out;
  }

  private void sh(String script) throws Exception {
    System.out.println("$ " + script);
    if (process(List.of("bash", "-c", script), true).waitFor() != 0) {
      throw new IllegalStateException("failed: " + script);
    }
  }

  private Process process(List<String> cmd, boolean inheritOut) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().putAll(env);
    pb.redirectError(ProcessBuilder.Redirect.INHERIT);
    if (inheritOut) {
      pb.redirectOutput(ProcessBuilder.Redirect.INHERIT);
    }
    return pb.start();
  }

  private void awaitLifecycle(String type, String job) throws Exception {
    await("ephemera.lifecycle", type, job);
  }

  private JsonNode awaitUsed(String job) throws Exception {
    return await("ephemera.used", "ephemera.used", job);
  }

  private JsonNode await(String topic, String type, String job) throws Exception {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, env.get("EPHEMERA_KAFKA_BOOTSTRAP"));
    props.put(ConsumerConfig.GROUP_ID_CONFIG, "ephemera-demo-" + System.nanoTime());
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          JsonNode n = JSON.readTree(r.value());
          if (n.path("type").asText().equals(type) && n.path("data").path("job_id").asText().equals(job)) {
            System.out.println("(" + topic + ": " + type + " for job " + job + ")");
            return n;
          }
        }
      }
    }
    throw new IllegalStateException("no " + type + " for job " + job + " within 60 s");
  }

  private static Map<String, String> readEnv(Path file) throws IOException {
    Map<String, String> env = new LinkedHashMap<>();
    if (Files.exists(file)) {
      for (String line : Files.readAllLines(file)) {
        if (line.startsWith("export ")) {
          String kv = line.substring(7);
          int eq = kv.indexOf('=');
          env.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
      }
    }
    return env;
  }

  private static boolean ready(String url) {
    try {
      HttpResponse<Void> r =
          HttpClient.newBuilder()
              .connectTimeout(Duration.ofSeconds(2))
              .build()
              .send(
                  HttpRequest.newBuilder(URI.create(url + "/health/ready")).timeout(Duration.ofSeconds(5)).build(),
                  HttpResponse.BodyHandlers.discarding());
      return r.statusCode() == 200;
    } catch (Exception e) {
      return false;
    }
  }
}
