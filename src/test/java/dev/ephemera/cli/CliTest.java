package dev.ephemera.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.Zstd;
import dev.ephemera.event.EventCodec;
import dev.ephemera.testing.RunningWorker;
import dev.ephemera.testing.RunningWorker.CliRun;
import java.io.ByteArrayOutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI's contract that needs no server: usage errors, dry runs, exit codes when the server is unreachable. */
class CliTest {
  private static final ObjectMapper JSON = EventCodec.newMapper();

  @TempDir Path tmp;

  @Test
  void usageErrorsExit64WithAHint() {
    CliRun neither = RunningWorker.run("persist", "cargo");
    assertThat(neither.exit()).isEqualTo(64);
    assertThat(neither.err()).contains("give either PATHs or --rules").contains("ephemera persist --help");
    assertThat(RunningWorker.run("restore").exit()).isEqualTo(64);
    assertThat(RunningWorker.run("restore", "cargo", "--all").exit()).isEqualTo(64);
    assertThat(RunningWorker.run("persist", "cargo", "/x", "--bogus").exit()).isEqualTo(64);
    assertThat(RunningWorker.run("persist", "bad/name", "/x").exit()).isEqualTo(64);
    assertThat(RunningWorker.run("persist", "cargo", "--rules", "relative/*").exit()).isEqualTo(64);
    assertThat(RunningWorker.run("nosuchcommand").exit()).isEqualTo(64);
  }

  @Test
  void aDryRunPrintsExactlyTheAbsolutePathsItWouldKeepAndNeedsNoServer() throws Exception {
    Path root = tmp.resolve("registry");
    Files.createDirectories(root.resolve("src/a"));
    Files.writeString(root.resolve("index"), "i");
    Files.writeString(root.resolve("src/a/lib.rs"), "fn");
    Files.writeString(root.resolve(".hidden"), "h");
    Files.writeString(root.resolve(".netrc"), "machine x password y");
    CliRun paths = RunningWorker.run("persist", "registry", root.toString(), "--dry-run");
    assertThat(paths.exit()).as(paths.err()).isZero();
    Path real = root.toRealPath();
    assertThat(paths.out().lines().toList())
        .containsExactly(
            real.resolve(".hidden").toString(), real.resolve("index").toString(), real.resolve("src/a/lib.rs").toString());
    assertThat(paths.err()).contains(".netrc");

    CliRun rules =
        RunningWorker.run(
            "persist", "registry", "--rules", real + "/**/*", "!" + real + "/src/*", "--dry-run");
    assertThat(rules.exit()).as(rules.err()).isZero();
    assertThat(rules.out().lines().toList())
        .containsExactly(real.resolve(".hidden").toString(), real.resolve("index").toString());
  }

  @Test
  void aRuleThatMustMatchButMatchesNothingFailsNamingTheRule() {
    String rule = "=" + tmp.resolve("nothing-here") + "/*";
    CliRun run = RunningWorker.run("persist", "x", "--rules", rule, "--dry-run");
    assertThat(run.exit()).isEqualTo(3);
    assertThat(run.err()).contains(tmp.resolve("nothing-here").toString());
  }

  @Test
  void anUnreachableServerNeverFailsAJobUnlessStrict() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Files.writeString(tmp.resolve("f"), "x");
    List<String> common =
        List.of("--url", "http://127.0.0.1:" + port, "--token", "ejt1.x.1.y", "--job", "01JOB", "--timeout", "1s");
    CliRun lenient = RunningWorker.run(concat(List.of("restore", "cargo"), common));
    assertThat(lenient.exit()).isZero();
    assertThat(lenient.err()).contains("cannot reach Ephemera").contains("--strict makes this exit 3");
    CliRun strict = RunningWorker.run(concat(List.of("persist", "cargo", tmp.toString(), "--strict"), common));
    assertThat(strict.exit()).isEqualTo(3);
    CliRun json = RunningWorker.run(concat(List.of("restore", "cargo", "--json"), common));
    assertThat(json.exit()).isZero();
    assertThat(JSON.readTree(json.out()).get("outcome").asText()).isEqualTo("failed");
  }

  @Test
  void missingConfigurationIsAFailureThatSaysWhatToSet() {
    CliRun run = RunningWorker.runWith(Map.of(), "restore", "cargo", "--url", "http://127.0.0.1:1", "--job", "01JOB", "--strict");
    assertThat(run.exit()).isEqualTo(3);
    assertThat(run.err()).contains("EPHEMERA_TOKEN");
  }

  @Test
  void theJobsEnvironmentSuppliesUrlTokenAndJobAndFlagsWin() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Map<String, String> env =
        Map.of("EPHEMERA_URL", "http://127.0.0.1:" + port, "EPHEMERA_TOKEN", "t", "BUILDOMAT_JOB_ID", "01JOB");
    CliRun fromEnv = RunningWorker.runWith(env, "restore", "cargo", "--timeout", "1s");
    assertThat(fromEnv.err()).contains("cannot reach Ephemera at http://127.0.0.1:" + port);
    CliRun flagWins =
        RunningWorker.runWith(env, "restore", "cargo", "--timeout", "1s", "--url", "http://127.0.0.1:" + (port + 1));
    assertThat(flagWins.err()).contains("cannot reach Ephemera at http://127.0.0.1:" + (port + 1));
  }

  @Test
  void unpackRefusesAHostileArchiveBeforeWritingAnything() throws Exception {
    ByteArrayOutputStream tar = new ByteArrayOutputStream();
    tar.write(header("../../escape", "0", 4));
    tar.write(pad("evil".getBytes(StandardCharsets.US_ASCII)));
    tar.write(new byte[1024]);
    Path archive = tmp.resolve("hostile.tar.zst");
    Files.write(archive, Zstd.compress(tar.toByteArray()));
    Path dir = tmp.resolve("out");
    CliRun run = RunningWorker.run("unpack", archive.toString(), dir.toString());
    assertThat(run.exit()).isEqualTo(3);
    assertThat(run.err()).contains("../../escape");
    assertThat(Files.exists(tmp.resolve("escape"))).isFalse();
    assertThat(Files.exists(dir) ? Files.list(dir).count() : 0).isZero();
  }

  @Test
  void unpackTakesItsLimitsFromFlagsOrTheEnvironment() throws Exception {
    ByteArrayOutputStream tar = new ByteArrayOutputStream();
    for (String name : List.of("a", "b", "c")) {
      tar.write(header(name, "0", 1));
      tar.write(pad("x".getBytes(StandardCharsets.US_ASCII)));
    }
    tar.write(new byte[1024]);
    Path archive = tmp.resolve("three.tar.zst");
    Files.write(archive, Zstd.compress(tar.toByteArray()));

    CliRun flag =
        RunningWorker.run("unpack", archive.toString(), tmp.resolve("flag").toString(), "--max-entries", "2");
    assertThat(flag.exit()).isEqualTo(3);
    assertThat(flag.err()).contains("'c'").contains("limit 2");
    assertThat(Files.exists(tmp.resolve("flag/a"))).isFalse();
    CliRun env =
        RunningWorker.runWith(
            Map.of("EPHEMERA_MAX_BYTES", "2"), "unpack", archive.toString(), tmp.resolve("env").toString());
    assertThat(env.exit()).isEqualTo(3);
    assertThat(env.err()).contains("'c'").contains("limit 2 bytes");
    CliRun bad =
        RunningWorker.run("unpack", archive.toString(), tmp.resolve("bad").toString(), "--max-ratio", "0");
    assertThat(bad.exit()).isEqualTo(64);
    assertThat(bad.err()).contains("--max-ratio must be a positive number");
    CliRun within =
        RunningWorker.run("unpack", archive.toString(), tmp.resolve("ok").toString(), "--max-entries", "3");
    assertThat(within.exit()).as(within.err()).isZero();
    assertThat(Files.readString(tmp.resolve("ok/c"))).isEqualTo("x");
  }

  @Test
  void planShowsScopesPerTriggerAndWhatEachDeclaredSetSelectsHere() throws Exception {
    Path cargo = tmp.resolve("cargo");
    Files.createDirectories(cargo.resolve("src"));
    Files.writeString(cargo.resolve("index"), "i");
    Files.writeString(cargo.resolve("src/lib.rs"), "excluded");
    Path jobFile = tmp.resolve("build.sh");
    Files.writeString(
        jobFile,
        String.join(
            "\n",
            "#!/bin/bash",
            "#:",
            "#: name = \"build\"",
            "#: variety = \"basic\"",
            "#:",
            "#: [[persist]]",
            "#: name = \"cargo\"",
            "#: rules = [\"" + cargo + "/**/*\", \"!" + cargo + "/src/*\"]",
            "#: when = \"always\"",
            "#:",
            "cargo build",
            ""));
    CliRun plan = RunningWorker.run("plan", jobFile.toString(), "--pr", "12", "--branch", "fix", "--json");
    assertThat(plan.exit()).as(plan.err()).isZero();
    var tree = JSON.readTree(plan.out());
    assertThat(tree.get("cases").get(0).get("reads").toString()).isEqualTo("[\"pr:12\",\"branch:fix\",\"branch:main\"]");
    assertThat(tree.get("cases").get(0).get("writes").asText()).isEqualTo("pr:12");
    assertThat(tree.get("sets").get(0).get("entries").asInt()).isEqualTo(1);
    assertThat(tree.get("sets").get(0).get("when").asText()).isEqualTo("always");

    Files.writeString(jobFile, "#!/bin/bash\n#: name = \"x\"\n#: variety = \"basic\"\n#: persit = 1\n");
    CliRun bad = RunningWorker.run("plan", jobFile.toString());
    assertThat(bad.exit()).isEqualTo(3);
    assertThat(bad.err()).contains("unknown field `persit`");
  }

  private static String[] concat(List<String> a, List<String> b) {
    return java.util.stream.Stream.concat(a.stream(), b.stream()).toArray(String[]::new);
  }

  /** A ustar header for a regular file. */
  private static byte[] header(String name, String type, long size) {
    byte[] h = new byte[512];
    put(h, 0, name);
    put(h, 100, "0000644");
    put(h, 108, "0000000");
    put(h, 116, "0000000");
    put(h, 124, String.format("%011o", size));
    put(h, 136, "00000000000");
    put(h, 156, type);
    put(h, 257, "ustar");
    put(h, 263, "00");
    Arrays.fill(h, 148, 156, (byte) ' ');
    int sum = 0;
    for (byte b : h) {
      sum += b & 0xff;
    }
    put(h, 148, String.format("%06o", sum));
    h[154] = 0;
    return h;
  }

  private static void put(byte[] h, int at, String s) {
    byte[] b = s.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(b, 0, h, at, b.length);
  }

  private static byte[] pad(byte[] data) {
    return Arrays.copyOf(data, (data.length + 511) / 512 * 512);
  }
}
