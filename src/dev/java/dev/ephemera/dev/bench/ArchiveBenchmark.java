package dev.ephemera.dev.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ephemera.App;
import dev.ephemera.archive.ChunkSource;
import dev.ephemera.archive.Manifest;
import dev.ephemera.catalog.SetDao;
import dev.ephemera.catalog.SetRow;
import dev.ephemera.catalog.SetStatus;
import dev.ephemera.cli.ApiClient;
import dev.ephemera.cli.Main;
import dev.ephemera.config.EphemeraConfig;
import dev.ephemera.config.Settings;
import dev.ephemera.dev.EmbeddedPostgresServer;
import dev.ephemera.dev.EmbeddedS3;
import dev.ephemera.dev.StandaloneKafka;
import dev.ephemera.event.EventCodec;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.DriverManager;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Stream;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * {@code make bench}: Ephemera's persist and restore against {@code tar | zstd} plus a plain HTTP PUT/GET, in one
 * invocation, against the same S3 API on loopback (S3Proxy on a directory).
 *
 * <p>Ephemera runs for real: a worker ({@link App}) with an S3 store, Kafka and PostgreSQL; jobs are announced with
 * {@code ephemera admin emit} as buildomat would; every persist and restore is the product CLI ({@code bin/ephemera},
 * a child JVM with {@code -Xmx256m}) under {@code /usr/bin/time -v}, so its wall time includes JVM start-up and its
 * peak RSS is the whole process. The baselines run under {@code /usr/bin/time -v} too (peak RSS: the largest process
 * of the pipeline).
 *
 * <p>Per tree (a copy under the work directory, so the original is never touched):
 *
 * <ol>
 *   <li>persist cold (empty store) vs {@code tar -cf - | zstd -3 -T0 > f && curl -T f PRESIGNED_PUT};
 *   <li>the server's share: registering the same manifest again (it streams all frames to recompute the digests);
 *   <li>restore into a fresh directory vs {@code curl PRESIGNED_GET | tar --zstd -xf -};
 *   <li>1% of the files changed, persist again: bytes uploaded vs the cold persist, time vs the baseline again.
 * </ol>
 *
 * <p>Usage: {@code scripts/bench.sh [--tree DIR] [--small DIR|npm|generate] [--work DIR] [--repeat N] [--only
 * real|small] [--jfr]}.
 */
public final class ArchiveBenchmark {
  private static final ObjectMapper JSON = EventCodec.newMapper();
  private static final String ADMIN_TOKEN = "bench-admin-token-0123456789";
  private static final String SIGNING_KEY = "bench-signing-key-0123456789abcdef0123";
  private static final String BUCKET = "ephemera-bench";
  private static final String BRANCH = "bench";
  /** A real npm project with many small files (about 35k files, 550 MB). */
  private static final List<String> NPM_PACKAGES =
      List.of(
          "jest", "webpack", "webpack-cli", "eslint", "typescript", "@babel/core", "@babel/preset-env", "react",
          "react-dom", "lodash", "rxjs", "next", "date-fns", "@mui/material", "@emotion/react", "@emotion/styled");

  private final Path repo;
  private final Path work;
  private final int repeat;
  private final boolean jfr;
  private final List<String> report = new ArrayList<>();
  private final List<AutoCloseable> parts = new ArrayList<>();
  private final HttpClient http = HttpClient.newHttpClient();
  private App app;
  private URI api;
  private String bootstrap;
  private S3Client s3;
  private S3Presigner presigner;
  private int jobCounter;
  /** Unmeasured cold persists before the measured ones (see the warm-up step). */
  private int warmups = 6;
  private boolean warmedUp;

  private ArchiveBenchmark(Path repo, Path work, int repeat, boolean jfr) {
    this.repo = repo;
    this.work = work;
    this.repeat = repeat;
    this.jfr = jfr;
  }

  public static void main(String[] args) throws Exception {
    Path tree = Path.of(System.getProperty("user.home"), ".m2", "repository");
    String small = "npm";
    Path work = Path.of("target", "bench");
    int repeat = 1;
    boolean jfr = false;
    int warmups = 6;
    String only = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--tree" -> tree = Path.of(args[++i]);
        case "--small" -> small = args[++i];
        case "--work" -> work = Path.of(args[++i]);
        case "--repeat" -> repeat = Integer.parseInt(args[++i]);
        case "--only" -> only = args[++i];
        case "--jfr" -> jfr = true;
        case "--warmups" -> warmups = Integer.parseInt(args[++i]);
        case "--no-warmup" -> warmups = 0;
        default -> {
          System.err.println(
              "usage: scripts/bench.sh [--tree DIR] [--small DIR|npm|generate] [--work DIR] [--repeat N]"
                  + " [--only real|small] [--jfr] [--warmups N] [--no-warmup]");
          System.exit(64);
        }
      }
    }
    ArchiveBenchmark bench =
        new ArchiveBenchmark(Path.of("").toAbsolutePath(), work.toAbsolutePath(), repeat, jfr);
    bench.warmups = warmups;
    int exit = 0;
    try {
      deleteTree(work.resolve("files-cache")); // no record of an earlier run's restores
      bench.startStack();
      if (only == null || only.equals("real")) {
        bench.run("real", tree.toAbsolutePath());
      }
      if (only == null || only.equals("small")) {
        bench.run("small", bench.smallTree(small));
      }
    } catch (Exception e) {
      e.printStackTrace();
      exit = 1;
    } finally {
      bench.close();
    }
    System.out.println();
    System.out.println("==== summary (median of " + repeat + ") ====");
    bench.report.forEach(System.out::println);
    System.exit(exit);
  }

  // ---- the stack ----

  private void startStack() throws Exception {
    Path stack = work.resolve("stack");
    deleteTree(stack);
    Files.createDirectories(stack.resolve("s3"));
    log("starting S3Proxy, PostgreSQL, Kafka and a worker under " + stack);
    EmbeddedS3 s3Proxy = EmbeddedS3.start(stack.resolve("s3"));
    parts.add(s3Proxy);
    EmbeddedPostgresServer pg = EmbeddedPostgresServer.start(stack.resolve("pg"), freePort());
    parts.add(pg);
    try (var c = DriverManager.getConnection(pg.jdbcUrl("postgres"), EmbeddedPostgresServer.USER,
            EmbeddedPostgresServer.PASSWORD);
        var st = c.createStatement()) {
      st.execute("create database ephemera");
    }
    int kafkaPort = freePort();
    StandaloneKafka kafka = StandaloneKafka.start(stack.resolve("kafka"), kafkaPort, freePort());
    parts.add(kafka);
    bootstrap = kafka.bootstrapServers();

    var credentials =
        StaticCredentialsProvider.create(AwsBasicCredentials.create(EmbeddedS3.ACCESS_KEY, EmbeddedS3.SECRET_KEY));
    s3 =
        S3Client.builder()
            .httpClientBuilder(UrlConnectionHttpClient.builder())
            .region(Region.of(EmbeddedS3.REGION))
            .credentialsProvider(credentials)
            .endpointOverride(s3Proxy.endpoint())
            .forcePathStyle(true)
            .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
            .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
            .build();
    parts.add(s3);
    presigner =
        S3Presigner.builder()
            .region(Region.of(EmbeddedS3.REGION))
            .credentialsProvider(credentials)
            .endpointOverride(s3Proxy.endpoint())
            .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build())
            .build();
    parts.add(presigner);
    s3.createBucket(b -> b.bucket(BUCKET));

    int httpPort = freePort();
    Map<String, String> s = new LinkedHashMap<>();
    s.put("kafka.bootstrap", bootstrap);
    s.put("kafka.partitions", "2");
    s.put("kafka.replication-factor", "1");
    s.put("db.url", pg.jdbcUrl("ephemera"));
    s.put("db.user", EmbeddedPostgresServer.USER);
    s.put("db.password", EmbeddedPostgresServer.PASSWORD);
    s.put("store.kind", "s3");
    s.put("s3.endpoint", s3Proxy.endpoint().toString());
    s.put("s3.region", EmbeddedS3.REGION);
    s.put("s3.bucket", BUCKET);
    s.put("s3.path-style", "true");
    s.put("s3.access-key", EmbeddedS3.ACCESS_KEY);
    s.put("s3.secret-key", EmbeddedS3.SECRET_KEY);
    s.put("http.host", "127.0.0.1");
    s.put("http.port", Integer.toString(httpPort));
    s.put("http.public-url", "http://127.0.0.1:" + httpPort);
    s.put("auth.admin-token", ADMIN_TOKEN);
    s.put("auth.signing-key", SIGNING_KEY);
    app = App.start(EphemeraConfig.from(Settings.load(EphemeraConfig.DEFAULTS, Optional.empty(), Map.of(), s)),
        Clock.systemUTC());
    parts.add(app);
    api = URI.create("http://127.0.0.1:" + httpPort);
    log("worker at " + api + ", S3 API at " + s3Proxy.endpoint() + ", Kafka at " + bootstrap);
  }

  private void close() {
    for (int i = parts.size() - 1; i >= 0; i--) {
      try {
        parts.get(i).close();
      } catch (Exception e) {
        System.err.println("bench: stopping " + parts.get(i).getClass().getSimpleName() + ": " + e);
      }
    }
  }

  // ---- one tree ----

  private void run(String label, Path source) throws Exception {
    Path tree = work.resolve("trees").resolve(label);
    deleteTree(tree);
    Files.createDirectories(tree.getParent());
    log(label + ": copying " + source + " to " + tree);
    sh("cp -a " + q(source) + " " + q(tree) + " && sync");
    long files;
    try (Stream<Path> walk = Files.walk(tree)) {
      files = walk.filter(Files::isRegularFile).count();
    }
    Run du = sh("du -sb " + q(tree));
    long bytes = Long.parseLong(du.out().split("\\s+")[0]);
    String title = String.format(Locale.ROOT, "[%s] %s: %,d files, %s", label, source, files, mb(bytes));
    log(title);
    report.add(title);
    String name = "bench-" + label;
    Path baseArchive = work.resolve(label + "-baseline.tar.zst");
    String putUrl = presignPut("baseline/" + label + ".tar.zst");
    String getUrl = presignGet("baseline/" + label + ".tar.zst");
    String baselinePersist =
        "tar -cf - -C " + q(tree) + " . | zstd -q -3 -T0 -f -o " + q(baseArchive) + " && curl -sSf -T "
            + q(baseArchive) + " '" + putUrl + "'";

    // 0. The worker is a long-running service: its first persists also pay the JIT compilation of the worker's and the
    // S3 API's code paths (measured with -XX:+PrintCompilation: ~10,000 compilations during the first cold persist and
    // still ~5,000 during a second one, most of them the AWS SDK's, S3Proxy's and Jdbi's, on the same two cores as the
    // CLI). Unmeasured cold persists of the tree (--warmups, default 6) bring it closer to the steady state of a worker
    // that has served jobs for hours; the store is emptied before each, and before the measured cold persist. After
    // each, another job fetches the set's manifest, its chunk URLs and every chunk the way a restore does (without
    // writing files): with persists alone as warm-up, the server's JIT compiled S3Proxy's GET path during the measured
    // restore (perf: 57% of the servers' CPU during it was C2). Then a persist of the unchanged tree: without it, C2
    // compiling the dedup path (`present`, and reading reused chunks back for the digests) was 29% of the servers' CPU
    // during the measured persist after 1% changed (async-profiler, 2026-12-02). The fetch also sends a chunk patch
    // for every third chunk (the worker's path for the chunks a persist after a small change sends as patches).
    if (warmups > 0 && !warmedUp) {
      for (int w = 1; w <= warmups; w++) {
        log(label + ": warm-up persist, fetch and persist again " + w + " of " + warmups
            + " (not measured; --warmups N, --no-warmup)");
        emptyChunks();
        String warmSet =
            ephemeraInJob("persist", name + "-warmup", tree.toString(), "--json").json().get("set_id").asText();
        awaitLive(warmSet);
        fetchLikeARestore(warmSet);
        // and the same tree again: every chunk present, the path of a persist after a small change (the worker answers
        // `present` and reads every reused chunk back for its digests, a path the cold persists never take)
        ephemeraInJob("persist", name + "-warmup", tree.toString(), "--json");
      }
      warmedUp = true;
    }

    // 1. persist, cold store.
    List<Run> base = new ArrayList<>();
    List<Run> cold = new ArrayList<>();
    String coldJob = null;
    for (int r = 0; r < repeat; r++) {
      if (baselineFirst(r)) {
        base.add(timed(baselinePersist));
      }
      emptyChunks();
      coldJob = startJob();
      cold.add(ephemera(coldJob, "persist", name, tree.toString(), "--json"));
      if (!baselineFirst(r)) {
        base.add(timed(baselinePersist));
      }
    }
    JsonNode coldJson = last(cold).json();
    long baseSize = Files.size(baseArchive);
    line(label, "persist cold", cold, "tar | zstd -3 -T0 + PUT", base, "≤ 1.0");
    report.add(String.format(Locale.ROOT, "    sizes: tar %s, ephemera stored %s in %d chunks, baseline .tar.zst %s",
        mb(coldJson.get("tar_size").asLong()), mb(coldJson.get("bytes_uploaded").asLong()),
        coldJson.get("chunks").asLong(), mb(baseSize)));

    // 2. the server's share of a persist: registering streams every frame to recompute the digests.
    String setId = coldJson.get("set_id").asText();
    byte[] manifest = send(get("/v1/jobs/" + coldJob + "/sets/" + setId + "/manifest", token(coldJob))).body();
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("name", name + "-again");
    body.put("manifest", JSON.readTree(manifest));
    long t0 = System.nanoTime();
    send(
        HttpRequest.newBuilder(api.resolve("/v1/jobs/" + coldJob + "/sets"))
            .header("Authorization", "Bearer " + token(coldJob))
            .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)))
            .build());
    double register = (System.nanoTime() - t0) / 1e9;
    report.add(String.format(Locale.ROOT,
        "    of which the worker's registration (re-reads all frames: tar + archive sha256): %.2f s", register));
    completeJob(coldJob);
    awaitLive(setId);

    // 3. restore into a fresh directory.
    List<Run> baseRestore = new ArrayList<>();
    List<Run> restore = new ArrayList<>();
    List<Path> leftovers = new ArrayList<>();
    for (int r = 0; r < repeat; r++) {
      // Neither restore may run where many files were just deleted. This machine's ext4 has no journal, and such an
      // ext4 does not reuse an inode deleted less than 60 s ago, or 360 s while its inode-table block is dirty, which
      // it is again as soon as the restore creates a file next to it: every file created there first scans past the
      // recently deleted inodes, reading each one's table block (perf: 68% of a 21 s-CPU node_modules restore went to
      // recently_deleted, find_get_block_common and the lock spinning around them). A CI job restores into a pristine
      // environment, so the bench frees nothing before the restores: the tree is moved aside (a rename), the baseline
      // extracts into a new directory, and both are deleted after the step.
      Path aside = work.resolve(label + "-before-restore-" + r);
      Path baseOut = work.resolve(label + "-baseline-out-" + r);
      deleteTree(aside);
      deleteTree(baseOut);
      Files.move(tree, aside);
      leftovers.add(aside);
      Files.createDirectories(baseOut);
      leftovers.add(baseOut);
      String baselineRestore = "curl -sSf '" + getUrl + "' | tar --zstd -xf - -C " + q(baseOut);
      sh("sync");
      if (baselineFirst(r)) {
        baseRestore.add(timed(baselineRestore));
        sh("sync");
      }
      restore.add(ephemeraInJob("restore", name, "--json"));
      if (!baselineFirst(r)) {
        sh("sync");
        baseRestore.add(timed(baselineRestore));
      }
    }
    for (Path leftover : leftovers) {
      deleteTree(leftover);
    }
    line(label, "restore", restore, "GET | tar --zstd -x", baseRestore, "≤ 1.0, stretch 0.7");
    long restoredFiles;
    try (Stream<Path> walk = Files.walk(tree)) {
      restoredFiles = walk.filter(Files::isRegularFile).count();
    }
    if (restoredFiles != files) {
      throw new IllegalStateException("restored " + restoredFiles + " files, expected " + files);
    }

    // 4. 1% of the files changed (a different 1% each round), persist again.
    List<Run> baseWarm = new ArrayList<>();
    List<Run> warm = new ArrayList<>();
    List<Run> readAll = new ArrayList<>();
    List<Path> all;
    try (Stream<Path> walk = Files.walk(tree)) {
      all = walk.filter(Files::isRegularFile).sorted().toList();
    }
    for (int r = 0; r < repeat; r++) {
      int changed = 0;
      for (int i = r; i < all.size(); i += 100) {
        Files.writeString(all.get(i), "\nchanged by the benchmark, round " + r + "\n", StandardOpenOption.APPEND);
        changed++;
      }
      sh("sync");
      log(label + ": changed " + changed + " of " + all.size() + " files");
      if (baselineFirst(r)) {
        baseWarm.add(timed(baselinePersist));
      }
      warm.add(ephemeraInJob("persist", name, tree.toString(), "--json"));
      if (!baselineFirst(r)) {
        baseWarm.add(timed(baselinePersist));
      }
      // What the files cache saves: the same persist reading every file (after the measured one, so it finds every
      // chunk stored already and uploads nothing: a lower bound of its time without the cache).
      readAll.add(ephemeraInJob("persist", name + "-read-all", tree.toString(), "--json", "--no-files-cache"));
    }
    Run w = median(warm);
    double share = (double) w.json().get("bytes_uploaded").asLong() / coldJson.get("bytes_uploaded").asLong();
    line(label, "persist after 1% changed", warm, "tar | zstd -3 -T0 + PUT", baseWarm, "≤ 0.3");
    double sentShare = (double) w.json().get("bytes_sent").asLong() / coldJson.get("bytes_sent").asLong();
    report.add(String.format(Locale.ROOT, "    sent %s = %.1f%% of what the cold persist sent (goal ≤ 5%%): %d of %d chunks"
            + " uploaded, %d of them as patches against the restored set",
        mb(w.json().get("bytes_sent").asLong()), 100 * sentShare, w.json().get("chunks_uploaded").asLong(),
        w.json().get("chunks").asLong(), w.json().get("chunks_patched").asLong()));
    report.add(String.format(Locale.ROOT, "    stored %s of new chunks = %.1f%% of the cold persist's stored bytes",
        mb(w.json().get("bytes_uploaded").asLong()), 100 * share));
    report.add(String.format(Locale.ROOT, "    read %s of the files' %s (%s: the restore's record of what it wrote)",
        mb(w.json().get("file_bytes_read").asLong()), mb(coldJson.get("tar_size").asLong()),
        w.json().get("files_cache").asBoolean() ? "the rest unread" : "all of it, no record used"));
    Run everything = median(readAll);
    report.add(String.format(Locale.ROOT, "    the same persist reading every file (--no-files-cache, run after it: nothing"
            + " left to upload): %.2f s (cpu %.1f s, peak RSS %d MB; server cpu %.1f s)",
        everything.seconds(), everything.cpu(), everything.rssMb(), everything.serverCpu()));
    if (repeat > 1) {
      report.add("    (round N's persist finds the changes of rounds 1..N: the restore's record is older than all of them)");
    }
    deleteTree(tree);
    Files.deleteIfExists(baseArchive);
  }

  /**
   * Whether round {@code r} of a step runs the baseline before Ephemera: the order alternates. On this kind of machine
   * whichever command runs second meets what the first left behind (page-cache memory the VM has handed back to its
   * host, inodes just freed that every file creation scans past), and in either direction: in six back-to-back runs
   * with the baseline always first, Ephemera's restore went from 3.0 to 1.8 s and the baseline's from 1.6 to 2.3 s.
   */
  private static boolean baselineFirst(int r) {
    return r % 2 == 0;
  }

  /** A step's summary line (medians), and with {@code --repeat} every round's times. */
  private void line(String label, String what, List<Run> oursRuns, String baseline, List<Run> baseRuns, String goal) {
    Run ours = median(oursRuns);
    Run base = median(baseRuns);
    String s =
        String.format(Locale.ROOT,
            "  %-26s %6.2f s (cpu %5.1f s, peak RSS %4d MB) | %-24s %6.2f s (cpu %5.1f s, peak RSS %4d MB) | ratio"
                + " %.2f (goal %s)",
            what, ours.seconds(), ours.cpu(), ours.rssMb(), baseline, base.seconds(), base.cpu(), base.rssMb(),
            ours.seconds() / base.seconds(), goal)
            + String.format(
                Locale.ROOT, "; server cpu %.1f s (baseline's %.1f s)", ours.serverCpu(), base.serverCpu());
    log(label + ":" + s);
    report.add(s);
    if (ours.verifiedAfter() >= 0) {
      report.add(String.format(Locale.ROOT,
          "    the persist did not wait for the worker's verification, done %.2f s after it returned (server cpu %.1f s);"
              + " waiting for it (--wait) would make the ratio %.2f",
          ours.verifiedAfter(), ours.verifyServerCpu(), (ours.seconds() + ours.verifiedAfter()) / base.seconds()));
    }
    if (oursRuns.size() > 1) {
      StringBuilder rounds = new StringBuilder("    rounds (the baseline first in rounds 1, 3, ...): ephemera");
      oursRuns.forEach(r -> rounds.append(String.format(Locale.ROOT, " %.2f", r.seconds())));
      rounds.append(" s, baseline");
      baseRuns.forEach(r -> rounds.append(String.format(Locale.ROOT, " %.2f", r.seconds())));
      rounds.append(" s, ratios");
      for (int i = 0; i < oursRuns.size(); i++) {
        rounds.append(String.format(Locale.ROOT, " %.2f", oursRuns.get(i).seconds() / baseRuns.get(i).seconds()));
      }
      report.add(rounds.toString());
    }
  }

  // ---- small-files tree ----

  private Path smallTree(String spec) throws Exception {
    if (!spec.equals("npm") && !spec.equals("generate")) {
      return Path.of(spec).toAbsolutePath();
    }
    if (spec.equals("npm")) {
      Path project = work.resolve("npm");
      Path modules = project.resolve("node_modules");
      if (Files.isDirectory(modules)) {
        return modules;
      }
      Files.createDirectories(project);
      Files.writeString(project.resolve("package.json"), "{\"name\":\"bench-tree\",\"version\":\"1.0.0\",\"private\":true}\n");
      log("npm install " + String.join(" ", NPM_PACKAGES));
      Run npm = sh("cd " + q(project) + " && npm install --no-audit --no-fund --loglevel=error "
          + String.join(" ", NPM_PACKAGES) + " >&2", false);
      if (npm.exit() == 0) {
        return modules;
      }
      log("npm install failed (exit " + npm.exit() + "); generating a cargo-registry-like tree instead");
      deleteTree(project);
    }
    return generateRegistry(work.resolve("generated-registry"));
  }

  /** A cargo-registry-like tree: 600 crates × about 60 source files of 0.2-20 KiB, compressible text. */
  private static Path generateRegistry(Path root) throws IOException {
    if (Files.isDirectory(root)) {
      return root;
    }
    java.util.Random random = new java.util.Random(42);
    String[] words = {"fn", "let", "mut", "impl", "struct", "pub", "use", "match", "Some", "None", "Ok", "Err",
        "self", "where", "trait", "return", "u64", "String", "Vec", "&str", "{", "}", "(", ")", ";", "=>", "->"};
    for (int c = 0; c < 600; c++) {
      Path crate = root.resolve("src/index.crates.io-6f17d22bba15001f/crate-" + c + "-1." + (c % 7) + ".0");
      int nFiles = 20 + random.nextInt(80);
      for (int f = 0; f < nFiles; f++) {
        Path file = crate.resolve((f % 5 == 0 ? "src/" : "src/m" + (f % 4) + "/") + "file" + f + ".rs");
        Files.createDirectories(file.getParent());
        StringBuilder sb = new StringBuilder();
        int size = 200 + random.nextInt(random.nextInt(10) == 0 ? 60_000 : 6_000);
        while (sb.length() < size) {
          sb.append(words[random.nextInt(words.length)]).append(random.nextInt(5) == 0 ? '\n' : ' ');
        }
        Files.writeString(file, sb);
      }
      Files.writeString(crate.resolve("Cargo.toml"), "[package]\nname = \"crate-" + c + "\"\n");
    }
    return root;
  }

  // ---- jobs, through the real event and admin paths ----

  private String startJob() {
    jobCounter++;
    return admin("emit", "started", "--bootstrap", bootstrap, "--push", "--branch", BRANCH, "--repo-id", "4242",
        "--job-name", "bench-" + jobCounter);
  }

  /** One CLI run in a job of its own: started, the command, completed. */
  private Run ephemeraInJob(String... args) throws Exception {
    String job = startJob();
    Run run = ephemera(job, args);
    completeJob(job);
    return run;
  }

  private void completeJob(String job) {
    admin("emit", "completed", "--bootstrap", bootstrap, "--job", job, "--push", "--branch", BRANCH, "--repo-id",
        "4242", "--result", "success");
  }

  private static String admin(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    String[] full = new String[args.length + 1];
    full[0] = "admin";
    System.arraycopy(args, 0, full, 1, args.length);
    int exit = Main.run(full, new PrintWriter(out, true), new PrintWriter(err, true));
    if (exit != 0) {
      throw new IllegalStateException("ephemera admin " + String.join(" ", args) + " failed: " + err);
    }
    return out.toString().trim();
  }

  private void awaitLive(String setId) throws InterruptedException {
    awaitSet(setId, set -> set.status() == SetStatus.LIVE, "become live", Duration.ofSeconds(60));
  }

  /** Waits until {@code setId} is a set and {@code until} holds for it, polling the catalog. */
  private void awaitSet(String setId, java.util.function.Predicate<SetRow> until, String what, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      Optional<SetRow> set = app.catalog().jdbi().withExtension(SetDao.class, d -> d.find(setId));
      if (set.isPresent() && until.test(set.get())) {
        return;
      }
      Thread.sleep(5);
    }
    throw new IllegalStateException("set " + setId + " did not " + what + " within " + timeout.toSeconds() + " s");
  }

  /**
   * What a restore asks the servers for, through the CLI's own client, without writing anything: the manifest, the
   * chunk URLs, every chunk.
   */
  private void fetchLikeARestore(String setId) throws Exception {
    String job = startJob();
    ApiClient client = new ApiClient(api, token(job), job, Duration.ofMinutes(5));
    Manifest manifest = client.manifestWithoutFiles(setId);
    ChunkSource source = client.source(setId);
    ApiClient.UploadSink sink = client.sink();
    long start = 0;
    int patches = 0;
    for (Manifest.Chunk c : manifest.chunks()) {
      byte[] frame = source.fetch(c.sha256());
      // Every third chunk, also a chunk patch against the set (the chunk with its last bytes changed): the worker's
      // path for a persist after a small change (rebuild from the set, verify, compress, store), warmed as the others
      // are. The chunks it stores belong to no set; the next cold persist empties the store.
      if (patches++ % 3 == 0 && c.rawSize() > 64) {
        byte[] raw = com.github.luben.zstd.Zstd.decompress(frame, c.rawSize());
        for (int i = raw.length - 16; i < raw.length; i++) {
          raw[i] ^= (byte) 0x5a;
        }
        List<dev.ephemera.archive.ChunkPatch.Piece> pieces =
            List.of(
                new dev.ephemera.archive.ChunkPatch.Piece(start, raw.length - 16),
                new dev.ephemera.archive.ChunkPatch.Piece(-1, 16));
        byte[] body = dev.ephemera.archive.ChunkPatch.of(setId, raw, raw.length, pieces).encode(3);
        if (sink.putPatch(dev.ephemera.archive.Sha256.of(raw), body, raw.length) < 0) {
          throw new IOException("the worker refused a warm-up chunk patch: " + client.lastPatchRefusal());
        }
      }
      start += c.rawSize();
    }
    completeJob(job);
  }

  private final Map<String, String> tokens = new LinkedHashMap<>();

  private String token(String job) throws IOException {
    String t = tokens.get(job);
    if (t == null) {
      HttpResponse<byte[]> r =
          send(HttpRequest.newBuilder(api.resolve("/v1/admin/tokens"))
              .header("Authorization", "Bearer " + ADMIN_TOKEN)
              .POST(HttpRequest.BodyPublishers.ofString("{\"job_id\":\"" + job + "\"}"))
              .build());
      t = JSON.readTree(r.body()).get("token").asText();
      tokens.put(job, t);
    }
    return t;
  }

  private HttpRequest get(String path, String token) {
    return HttpRequest.newBuilder(api.resolve(path)).header("Authorization", "Bearer " + token).GET().build();
  }

  private HttpResponse<byte[]> send(HttpRequest request) throws IOException {
    try {
      HttpResponse<byte[]> r = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
      if (r.statusCode() / 100 != 2) {
        throw new IOException(request.uri() + ": " + r.statusCode() + " " + new String(r.body(), StandardCharsets.UTF_8));
      }
      return r;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  // ---- S3 ----

  /** A cold store, as GC leaves it: every chunk object deleted and its catalog row marked deleted. */
  private void emptyChunks() {
    app.catalog().jdbi().useHandle(h -> h.execute("update chunks set deleted_at = now() where deleted_at is null"));
    for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket(BUCKET).prefix("chunks/")).contents()) {
      s3.deleteObject(b -> b.bucket(BUCKET).key(o.key()));
    }
  }

  private String presignPut(String key) {
    return presigner
        .presignPutObject(p -> p.signatureDuration(Duration.ofHours(6)).putObjectRequest(b -> b.bucket(BUCKET).key(key)))
        .url()
        .toString();
  }

  private String presignGet(String key) {
    return presigner
        .presignGetObject(p -> p.signatureDuration(Duration.ofHours(6)).getObjectRequest(b -> b.bucket(BUCKET).key(key)))
        .url()
        .toString();
  }

  // ---- processes ----

  /** One measured command: wall seconds, user+system CPU seconds, peak RSS of its largest process, its output. */
  /**
   * One command's figures; {@code serverCpu} is the servers' CPU (this JVM and its children: worker, S3Proxy, Kafka,
   * PostgreSQL) while it ran, which its own {@code cpu} does not include.
   *
   * @param verifiedAfter for a persist answered before the worker verified its set: how long after the CLI exited the
   *     worker had verified it (-1 otherwise), and {@code verifyServerCpu} the servers' CPU in that time
   */
  record Run(double seconds, double cpu, long rssMb, int exit, String out, String err, double serverCpu,
      double verifiedAfter, double verifyServerCpu) {
    Run withServerCpu(double serverCpu) {
      return new Run(seconds, cpu, rssMb, exit, out, err, serverCpu, verifiedAfter, verifyServerCpu);
    }

    Run withVerification(double verifiedAfter, double verifyServerCpu) {
      return new Run(seconds, cpu, rssMb, exit, out, err, serverCpu, verifiedAfter, verifyServerCpu);
    }

    JsonNode json() {
      try {
        return JSON.readTree(out.strip().lines().reduce((a, b) -> b).orElse(""));
      } catch (IOException e) {
        throw new IllegalStateException("not JSON: " + out, e);
      }
    }
  }

  private Run ephemera(String job, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/time", "-v", repo.resolve("bin/ephemera").toString()));
    cmd.addAll(List.of(args));
    Map<String, String> env = new LinkedHashMap<>();
    env.put("EPHEMERA_URL", api.toString());
    env.put("EPHEMERA_TOKEN", token(job));
    env.put("BUILDOMAT_JOB_ID", job);
    // restores record what they wrote here (emptied when the bench starts), for the persist after 1% changed
    env.put("EPHEMERA_CACHE_DIR", work.resolve("files-cache").toAbsolutePath().toString());
    // BENCH_CLI_OPTS tries other JVM options for the CLI; the heap stays at 256 MiB, as the issue asks.
    // The default is bin/ephemera's own default for job-side commands (the same choice by platform, and the class-data
    // sharing archive of `make package` while it is newer than the jar).
    boolean linuxX8664 =
        System.getProperty("os.name").equals("Linux") && System.getProperty("os.arch").equals("amd64");
    Path jar = repo.resolve("target/ephemera.jar");
    Path jsa = repo.resolve("target/ephemera.jsa");
    boolean cds =
        Files.isRegularFile(jsa)
            && Files.getLastModifiedTime(jsa).compareTo(Files.getLastModifiedTime(jar)) > 0;
    String opts =
        System.getenv()
                .getOrDefault(
                    "BENCH_CLI_OPTS",
                    "-XX:+UseParallelGC -Xshare:auto "
                        + (linuxX8664
                            ? "-XX:TieredStopAtLevel=1 -Dephemera.jit=c1"
                            : "-XX:Tier4InvocationThreshold=20000 -XX:Tier4CompileThreshold=25000"
                                + " -XX:Tier4BackEdgeThreshold=120000")
                        + (cds ? " -XX:SharedArchiveFile=" + jsa + " -Xlog:cds=off -Xlog:cds+dynamic=off" : ""))
            + " -Xmx256m";
    if (jfr) {
      Path recording = work.resolve("jfr").resolve(args[0] + "-" + job + ".jfr");
      Files.createDirectories(recording.getParent());
      opts += " -XX:StartFlightRecording=filename=" + recording + ",settings=profile";
      log("recording " + recording);
    }
    env.put("EPHEMERA_JAVA_OPTS", opts);
    double server0 = serverCpu();
    Run r = exec(cmd, env);
    r = r.withServerCpu(serverCpu() - server0);
    if (r.exit() != 0) {
      throw new IllegalStateException("ephemera " + String.join(" ", args) + " exited " + r.exit() + ":\n" + r.err());
    }
    log("ephemera " + args[0] + ": " + r.out().trim());
    log(String.format(Locale.ROOT, "server cpu during ephemera %s: %.1f s", args[0], r.serverCpu()));
    if (args[0].equals("persist") && r.json().path("status").asText().equals("verifying")) {
      // The worker verifies the set after answering: nothing else runs until it has (the baseline would share the
      // cores with it), and the line reports how long it took.
      long t0 = System.nanoTime();
      double server1 = serverCpu();
      awaitVerified(r.json().get("set_id").asText());
      r = r.withVerification((System.nanoTime() - t0) / 1e9, serverCpu() - server1);
      log(String.format(Locale.ROOT, "verified %.2f s after the persist returned (server cpu %.1f s)",
          r.verifiedAfter(), r.verifyServerCpu()));
    }
    return r;
  }

  /** Waits until the worker has verified a registration: its set exists (pending or beyond). */
  private void awaitVerified(String setId) throws InterruptedException {
    awaitSet(setId, set -> true, "exist (be verified)", Duration.ofSeconds(120));
  }

  /** CPU seconds of the servers: this JVM (worker, S3Proxy, Kafka) and its child processes (PostgreSQL). */
  private static double serverCpu() {
    long nanos =
        ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
            .getProcessCpuTime();
    for (ProcessHandle child : ProcessHandle.current().descendants().toList()) {
      nanos += child.info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
    }
    return nanos / 1e9;
  }

  private Run timed(String script) throws Exception {
    double server0 = serverCpu();
    Run r = exec(List.of("/usr/bin/time", "-v", "bash", "-o", "pipefail", "-c", script), Map.of());
    r = r.withServerCpu(serverCpu() - server0);
    if (r.exit() != 0) {
      throw new IllegalStateException(script + " exited " + r.exit() + ":\n" + r.err());
    }
    return r;
  }

  private Run sh(String script) throws Exception {
    return sh(script, true);
  }

  private Run sh(String script, boolean check) throws Exception {
    Run r = exec(List.of("bash", "-o", "pipefail", "-c", script), Map.of());
    if (check && r.exit() != 0) {
      throw new IllegalStateException(script + " exited " + r.exit() + ":\n" + r.err());
    }
    return r;
  }

  private Run exec(List<String> cmd, Map<String, String> env) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().putAll(env);
    pb.environment().putIfAbsent("LC_ALL", "C.UTF-8");
    Path outFile = Files.createTempFile("bench-out", ".txt");
    Path errFile = Files.createTempFile("bench-err", ".txt");
    pb.redirectOutput(outFile.toFile());
    pb.redirectError(errFile.toFile());
    long t0 = System.nanoTime();
    Process p = pb.start();
    int exit = p.waitFor();
    double seconds = (System.nanoTime() - t0) / 1e9;
    String out = Files.readString(outFile);
    String err = Files.readString(errFile);
    Files.delete(outFile);
    Files.delete(errFile);
    Function<String, String> field =
        key -> err.lines().filter(l -> l.trim().startsWith(key)).map(l -> l.substring(l.lastIndexOf(':') + 1).trim())
            .findFirst().orElse("0");
    double cpu = Double.parseDouble(field.apply("User time (seconds)")) + Double.parseDouble(field.apply(
        "System time (seconds)"));
    long rss = Long.parseLong(field.apply("Maximum resident set size (kbytes)")) / 1024;
    return new Run(seconds, cpu, rss, exit, out, err, 0, -1, 0);
  }

  private static Run median(List<Run> runs) {
    List<Run> sorted = new ArrayList<>(runs);
    sorted.sort((a, b) -> Double.compare(a.seconds(), b.seconds()));
    return sorted.get(sorted.size() / 2);
  }

  private static Run last(List<Run> runs) {
    return runs.get(runs.size() - 1);
  }

  // ---- small helpers ----

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static String q(Path p) {
    return "'" + p.toString().replace("'", "'\\''") + "'";
  }

  private static String mb(long bytes) {
    return String.format(Locale.ROOT, "%.0f MB", bytes / 1e6);
  }

  private static void log(String s) {
    System.out.println("bench: " + s);
    System.out.flush();
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    // chmod first: the trees hold read-only directories.
    ProcessBuilder pb = new ProcessBuilder("bash", "-c", "chmod -R u+rwx " + q(root) + " && rm -rf " + q(root));
    pb.inheritIO();
    try {
      if (pb.start().waitFor() != 0) {
        throw new IOException("could not delete " + root);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }
}
