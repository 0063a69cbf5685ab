package dev.ephemera.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.DeclaredSet;
import dev.ephemera.event.EventCodec;
import dev.ephemera.event.JobCompleted;
import dev.ephemera.event.JobInfo;
import dev.ephemera.event.JobStarted;
import dev.ephemera.event.Repo;
import dev.ephemera.event.Topics;
import dev.ephemera.event.Ulid;
import dev.ephemera.metrics.Meters;
import dev.ephemera.testing.RealServices;
import dev.ephemera.testing.RunningWorker;
import dev.ephemera.testing.RunningWorker.CliRun;
import dev.ephemera.testing.TestServices;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboards and alert rules, proven against a real Prometheus (the Debian package's binary) scraping a real
 * worker that has persisted, captured, staged, restored, refused and dead-lettered real traffic.
 *
 * <p>The traffic runs twice: once before Prometheus starts (so every series exists from its first scrape) and once
 * after Prometheus has scraped a few times (so rates and histogram quantiles over the window are not zero/NaN).
 *
 * <p>What "returns data" means, and the one principled exception: every panel query must return at least one series.
 * A query that filters on a failure ({@code outcome="error"}, {@code status=~"5.."}) legitimately returns nothing
 * when nothing failed; for those, the same query without that matcher must return data and carry that label — which
 * proves the metric, the label and the arithmetic are right. Alert expressions are threshold comparisons; an alert
 * that does not fire returns nothing, so its signal (the expression without its {@code > N} comparisons, and without
 * failure matchers) must return data, and Prometheus itself must report every rule healthy after evaluating it.
 */
@ExtendWith(RealServices.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GrafanaQueriesIT {
  private static final ObjectMapper JSON = EventCodec.newMapper();
  private static final Repo REPO = new Repo("oxidecomputer", "propolis", 777);
  private static final String OWNER = "gong-777";
  private static final Path DASHBOARDS = Path.of("grafana/dashboards");
  private static final Path PROMETHEUS_CONFIG = Path.of("deploy/prometheus/prometheus.yml");
  private static final Path ALERTS = Path.of("deploy/prometheus/alerts.yml");
  /** Matchers that select failures: a query filtering on one may be empty in a healthy run. */
  private static final Pattern FAILURE_MATCHER =
      Pattern.compile(
          "(outcome=\"error\"|status=~\"5\\.\\.\"|kind=~\"transient\\|fatal\""
              + "|outcome=~\"digest_mismatch\\|chunk_missing\\|unsafe_archive\")\\s*,?");
  /** A comparison with a number, as alert thresholds are written ({@code > 0.9}, {@code == 0}). */
  private static final Pattern THRESHOLD = Pattern.compile("\\s*(>=|<=|==|!=|>|<)\\s*(bool\\s+)?-?[0-9.]+(e[0-9]+)?");

  private final HttpClient http = HttpClient.newHttpClient();
  private RunningWorker worker;
  private Process prometheus;
  private URI prometheusUrl;
  @TempDir static Path tmp;

  @BeforeAll
  void start(TestServices services) throws Exception {
    worker = RunningWorker.start(services, "grafana", Map.of("metrics.catalog-interval", "1s"));
    traffic("first");
    prometheus = startPrometheus();
    // a few scrapes of the first traffic, so the second one shows up as increments
    awaitScrapesAfter(Instant.now(), 3);
    traffic("second");
    awaitScrapesAfter(Instant.now(), 3);
  }

  @AfterAll
  void stop() throws Exception {
    if (prometheus != null) {
      prometheus.destroy();
      if (!prometheus.waitFor(10, TimeUnit.SECONDS)) {
        prometheus.destroyForcibly();
      }
    }
    if (worker != null) {
      worker.close();
    }
  }

  // ---- the tests ----

  @Test
  void promtoolAcceptsTheShippedConfigAndRules() throws Exception {
    assertThat(run("promtool", "check", "config", PROMETHEUS_CONFIG.toString())).contains("SUCCESS");
    assertThat(run("promtool", "check", "rules", ALERTS.toString())).contains("SUCCESS");
  }

  @Test
  void everyPanelQueryParsesAndReturnsData() throws Exception {
    List<String> failures = new ArrayList<>();
    int queries = 0;
    for (Map.Entry<String, String> target : panelQueries().entrySet()) {
      queries++;
      String expr = grafanaVariables(target.getValue());
      JsonNode result = query(expr);
      if (!result.path("status").asText().equals("success")) {
        failures.add(target.getKey() + ": " + result.path("error").asText() + "\n    " + expr);
        continue;
      }
      if (!result.path("data").path("result").isEmpty()) {
        continue;
      }
      Matcher failure = FAILURE_MATCHER.matcher(expr);
      if (!failure.find()) {
        failures.add(target.getKey() + ": no data\n    " + expr);
        continue;
      }
      String population = FAILURE_MATCHER.matcher(expr).replaceAll("");
      if (query(population).path("data").path("result").isEmpty()) {
        failures.add(target.getKey() + ": no data even without the failure matcher\n    " + population);
      }
      String unlabelled = labelMissing(expr);
      if (unlabelled != null) {
        failures.add(target.getKey() + ": " + unlabelled);
      }
    }
    assertThat(queries).as("panel queries found").isGreaterThan(40);
    assertThat(failures).as("panel queries that fail or return no data").isEmpty();
  }

  @Test
  void prometheusLoadedAndEvaluatedEveryAlertRuleAndEachSignalHasData() throws Exception {
    long declared = Files.readAllLines(ALERTS).stream().filter(l -> l.trim().startsWith("- alert:")).count();
    // Prometheus evaluates the rules every second here; wait until each has been evaluated at least once
    List<JsonNode> rules = new ArrayList<>();
    Awaitility.await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              rules.clear();
              for (JsonNode group : get("/api/v1/rules").path("data").path("groups")) {
                group.path("rules").forEach(rules::add);
              }
              return rules.size() == declared
                  && rules.stream().allMatch(r -> !r.path("lastEvaluation").asText().startsWith("0001"));
            });
    List<String> failures = new ArrayList<>();
    for (JsonNode rule : rules) {
      String name = rule.path("name").asText();
      if (!rule.path("health").asText().equals("ok")) {
        failures.add(name + ": health " + rule.path("health").asText() + " " + rule.path("lastError").asText());
      }
      String expr = rule.path("query").asText();
      JsonNode result = query(expr);
      if (!result.path("status").asText().equals("success")) {
        failures.add(name + ": " + result.path("error").asText());
        continue;
      }
      String signal = FAILURE_MATCHER.matcher(THRESHOLD.matcher(expr).replaceAll("")).replaceAll("");
      if (query(signal).path("data").path("result").isEmpty()) {
        failures.add(name + ": its signal has no data\n    " + signal);
      }
    }
    assertThat(rules).hasSize((int) declared);
    assertThat(failures).as("alert rules that fail or whose signal has no data").isEmpty();
    // the traffic dead-lettered a record: that alert's own expression fires, not just its signal
    assertThat(query(rules.stream()
            .filter(r -> r.path("name").asText().equals("EphemeraDeadLetters"))
            .findFirst()
            .orElseThrow()
            .path("query")
            .asText())
        .path("data").path("result"))
        .isNotEmpty();
  }

  @Test
  void everyMeterTheWorkerExposesIsOnAPanelAndInTheReadme() throws Exception {
    String scrape = http.send(
            HttpRequest.newBuilder(worker.url().resolve("/metrics")).build(), HttpResponse.BodyHandlers.ofString())
        .body();
    TreeSet<String> families = new TreeSet<>();
    Matcher type = Pattern.compile("(?m)^# TYPE (\\S+) \\S+$").matcher(scrape);
    while (type.find()) {
      families.add(type.group(1));
    }
    String panels = String.join("\n", panelQueries().values());
    String readme = Files.readString(Path.of("README.md"));
    List<String> missing = new ArrayList<>();
    for (String family : families) {
      if (!family.startsWith("ephemera_")) {
        continue;
      }
      // Micrometer publishes a timer's or summary's maximum as a family of its own; it is shown with its base
      String base = family.endsWith("_max") && families.contains(family.substring(0, family.length() - 4))
          ? family.substring(0, family.length() - 4)
          : family;
      if (!panels.contains(base)) {
        missing.add(family + " is on no panel");
      }
      if (!readme.contains(base.replaceAll("_total$", ""))) {
        missing.add(family + " is not in the README");
      }
    }
    for (String name : Meters.ALL) {
      String prefix = name.replace('.', '_');
      if (families.stream().noneMatch(f -> f.startsWith(prefix))) {
        missing.add(name + " (Meters) was not exposed by a worker after real traffic");
      }
    }
    for (String prefix : Meters.BOUND_FAMILIES) {
      if (families.stream().noneMatch(f -> f.startsWith(prefix) && panels.contains(f))) {
        missing.add("no panel shows a " + prefix + "* family");
      }
      if (!readme.contains("`" + prefix + "*`")) {
        missing.add("the README does not describe the " + prefix + "* family");
      }
    }
    assertThat(missing).isEmpty();
  }

  @Test
  void healthEndpointsAnswerWithEveryCheckUp() throws Exception {
    HttpResponse<String> live = http.send(
        HttpRequest.newBuilder(worker.url().resolve("/health/live")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(live.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(live.body()).path("status").asText()).isEqualTo("up");
    HttpResponse<String> ready = http.send(
        HttpRequest.newBuilder(worker.url().resolve("/health/ready")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
    JsonNode body = JSON.readTree(ready.body());
    assertThat(body.path("status").asText()).isEqualTo("ready");
    assertThat(body.path("checks").properties())
        .extracting(Map.Entry::getKey)
        .containsExactlyInAnyOrder("postgres", "store", "kafka", "consumer");
    body.path("checks").forEach(check -> assertThat(check.asText()).isEqualTo("up"));
  }

  // ---- traffic ----

  private static JobInfo pullRequestJob(String id, int pr) {
    return new JobInfo(
        id, OWNER, REPO, "b".repeat(40), "feature", JobInfo.Trigger.PULL_REQUEST, pr, false, "main", "helios-2.0",
        "build", List.of(new DeclaredSet("target", List.of("/work/target/**/*"), DeclaredSet.When.SUCCESS)));
  }

  /**
   * A pull request job misses and persists; the next one is staged the set, restores it, changes a file and persists
   * it again (a chunk patch), downloads its link; a
   * third job's token is used for another job (denied); a malformed record goes to the DLQ.
   */
  private void traffic(String round) throws Exception {
    int pr = round.equals("first") ? 11 : 12;
    Path dir = Files.createDirectories(tmp.resolve(round + "/target"));
    byte[] bytes = new byte[(3 << 20) + 12345];
    new Random(round.hashCode()).nextBytes(bytes);
    Files.write(dir.resolve("build.bin"), bytes);
    byte[] shared = new byte[2 << 20];
    new Random(42).nextBytes(shared);
    Files.write(dir.resolve("toolchain.bin"), shared); // the same in both rounds: deduplicated the second time
    Files.writeString(dir.resolve("notes.txt"), ("round " + round + "\n").repeat(1000));

    String a = Ulid.next();
    worker.publish(CloudEvent.of("urn:buildomat:test", JobStarted.of(pullRequestJob(a, pr))));
    awaitJob(a);
    CliRun miss = worker.cli(a, "restore", "target");
    assertThat(miss.exit()).as(miss.err()).isZero();
    CliRun persist = worker.cli(a, "persist", "target", dir.toString());
    assertThat(persist.exit()).as(persist.err()).isZero();
    worker.publish(
        CloudEvent.of("urn:buildomat:test", JobCompleted.of(pullRequestJob(a, pr), JobCompleted.Result.SUCCESS, Instant.now())));
    awaitLifecycle("ephemera.captured", a);

    String b = Ulid.next();
    worker.publish(CloudEvent.of("urn:buildomat:test", JobStarted.of(pullRequestJob(b, pr))));
    awaitLifecycle("ephemera.staged", b);
    String cache = tmp.resolve(round + "/cache").toString();
    CliRun restore = worker.cli(b, "restore", "--all", "--cache-dir", cache);
    assertThat(restore.exit()).as(restore.err()).isZero();
    // the job changes one file of what it restored and persists again: the chunk holding it goes as a patch
    Files.writeString(dir.resolve("notes.txt"), "rebuilt\n", java.nio.file.StandardOpenOption.APPEND);
    CliRun again = worker.cli(b, "persist", "target", dir.toString(), "--cache-dir", cache, "--json");
    assertThat(again.exit()).as(again.err()).isZero();
    assertThat(JSON.readTree(again.out()).get("chunks_patched").asLong()).as(again.out()).isPositive();
    worker.publish(
        CloudEvent.of("urn:buildomat:test", JobCompleted.of(pullRequestJob(b, pr), JobCompleted.Result.SUCCESS, Instant.now())));
    JsonNode used = awaitLifecycle("ephemera.used", b);
    String link = used.path("data").path("sets").get(0).path("download_url").asText();
    assertThat(http.send(HttpRequest.newBuilder(URI.create(link)).build(), HttpResponse.BodyHandlers.discarding())
            .statusCode())
        .isEqualTo(200);

    // another job's token on job b's path: refused and counted
    String other = worker.jobToken(Ulid.next());
    HttpResponse<String> denied = http.send(
        HttpRequest.newBuilder(worker.url().resolve("/v1/jobs/" + b + "/staged"))
            .header("Authorization", "Bearer " + other)
            .build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(denied.statusCode()).isEqualTo(403);

    // a record that is not JSON: dead-lettered, the partition moves on
    int letters = worker.outputs().matching(r -> r.topic().endsWith(Topics.DLQ)).size();
    worker.publishRaw(Topics.BUILDOMAT_JOBS, OWNER, ("not json " + round).getBytes(StandardCharsets.UTF_8));
    Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> worker.outputs().matching(r -> r.topic().endsWith(Topics.DLQ)).size() > letters);
  }

  private void awaitJob(String jobId) {
    Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> worker.app().catalog().jdbi().withHandle(h ->
            h.createQuery("select count(*) from jobs where job_id = :j").bind("j", jobId).mapTo(Integer.class).one()) == 1);
  }

  private JsonNode awaitLifecycle(String type, String jobId) throws IOException {
    return JSON.readTree(
        worker.outputs().await(r -> {
          try {
            JsonNode n = JSON.readTree(r.value());
            return n.path("type").asText().equals(type) && n.path("data").path("job_id").asText().equals(jobId);
          } catch (IOException e) {
            return false;
          }
        }).value());
  }

  // ---- Prometheus ----

  /** The shipped config with the worker as its target, 1 s intervals and the shipped rules next to it. */
  private Process startPrometheus() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    String config = Files.readString(PROMETHEUS_CONFIG)
        .replace("\"ephemera:8080\"", "\"127.0.0.1:" + worker.url().getPort() + "\"")
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("evaluation_interval: 15s", "evaluation_interval: 1s");
    assertThat(config).contains("127.0.0.1:" + worker.url().getPort()).contains("scrape_interval: 1s");
    Path dir = Files.createDirectories(tmp.resolve("prometheus"));
    Files.writeString(dir.resolve("prometheus.yml"), config);
    Files.copy(ALERTS, dir.resolve("alerts.yml"));
    Process process = new ProcessBuilder(
            prometheusBinary(),
            "--config.file=" + dir.resolve("prometheus.yml"),
            "--storage.tsdb.path=" + dir.resolve("data"),
            "--web.listen-address=127.0.0.1:" + port,
            "--log.level=warn")
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("prometheus.log").toFile())
        .start();
    prometheusUrl = URI.create("http://127.0.0.1:" + port);
    Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(200))
        .ignoreExceptions()
        .until(() -> {
          assertThat(process.isAlive()).as(() -> log(dir)).isTrue();
          return http.send(HttpRequest.newBuilder(prometheusUrl.resolve("/-/ready")).build(),
                  HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        });
    return process;
  }

  private static String log(Path dir) {
    try {
      return Files.readString(dir.resolve("prometheus.log"));
    } catch (IOException e) {
      return e.toString();
    }
  }

  /** {@code prometheus} on the PATH, else where the Debian package puts it. */
  private static String prometheusBinary() {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
      if (Files.isExecutable(Path.of(dir, "prometheus"))) {
        return Path.of(dir, "prometheus").toString();
      }
    }
    throw new IllegalStateException(
        "prometheus is not installed: apt-get install -y prometheus (.ci/run does)");
  }

  /** Waits until Prometheus has scraped the worker {@code scrapes} times after {@code after}. */
  private void awaitScrapesAfter(Instant after, int scrapes) {
    double target = after.toEpochMilli() / 1000.0 + scrapes;
    Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(250))
        .until(() -> {
          JsonNode r = query("timestamp(up{job=\"ephemera\"} == 1)").path("data").path("result");
          return !r.isEmpty() && r.get(0).path("value").get(1).asDouble() >= target;
        });
  }

  private JsonNode query(String expr) throws Exception {
    return get("/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8));
  }

  private JsonNode get(String pathAndQuery) throws Exception {
    HttpResponse<String> r = http.send(
        HttpRequest.newBuilder(prometheusUrl.resolve(pathAndQuery)).build(), HttpResponse.BodyHandlers.ofString());
    return JSON.readTree(r.body());
  }

  /**
   * For each failure matcher in {@code expr}, whether the metric it filters has that label at all (a typo in a label
   * name would make the filtered query empty forever); a description of the first one missing, or null.
   */
  private String labelMissing(String expr) throws Exception {
    Matcher m = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)\\{[^}]*?" + FAILURE_MATCHER.pattern()).matcher(expr);
    while (m.find()) {
      String metric = m.group(1);
      String label = m.group(2).replaceAll("[=~!].*", "");
      String check = "count by (" + label + ") (" + metric + "{" + label + "!=\"\"})";
      if (query(check).path("data").path("result").isEmpty()) {
        return metric + " has no label " + label + " (" + check + ")";
      }
    }
    return null;
  }

  /**
   * Grafana's variables as Grafana would send them for "last 10 minutes, all workers": {@code $__rate_interval} is
   * at least four scrape intervals (a minute is plenty at 1 s scrapes); {@code $instance} is "All" (.*).
   */
  private static String grafanaVariables(String expr) {
    return expr.replace("$__rate_interval", "1m").replace("$__range", "10m").replace("$instance", ".*");
  }

  /** Every target of every panel of every dashboard, keyed "dashboard / panel / refId". */
  static Map<String, String> panelQueries() throws IOException {
    Map<String, String> queries = new LinkedHashMap<>();
    try (Stream<Path> files = Files.list(DASHBOARDS)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".json")).sorted().toList()) {
        JsonNode dashboard = JSON.readTree(file.toFile());
        for (JsonNode panel : panelsOf(dashboard)) {
          for (JsonNode target : panel.path("targets")) {
            queries.put(
                dashboard.path("title").asText() + " / " + panel.path("title").asText() + " / "
                    + target.path("refId").asText(),
                target.path("expr").asText());
          }
        }
      }
    }
    return queries;
  }

  private static List<JsonNode> panelsOf(JsonNode dashboard) {
    List<JsonNode> panels = new ArrayList<>();
    for (JsonNode panel : dashboard.path("panels")) {
      panels.add(panel);
      panel.path("panels").forEach(panels::add);
    }
    return panels;
  }

  private static String run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(String.join(" ", command) + "\n" + out).isZero();
    return out;
  }
}
