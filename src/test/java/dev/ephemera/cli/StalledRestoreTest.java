package dev.ephemera.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.Zstd;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.ephemera.archive.Manifest;
import dev.ephemera.archive.Sha256;
import dev.ephemera.event.EventCodec;
import dev.ephemera.testing.RunningWorker;
import dev.ephemera.testing.RunningWorker.CliRun;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store that stalls in the middle of a restore: the worker's API answers (the set, its manifest, presigned chunk
 * URLs), then every chunk's body stops half-way and never ends, through the store and through the worker alike. The
 * restore ends at its deadline as a failure of the cache (exit 0, 3 under {@code --strict}), with the target left as it
 * was, instead of hanging the job. The worker here is a fake of the job API's contract, on loopback.
 */
class StalledRestoreTest {
  private static final ObjectMapper JSON = EventCodec.newMapper();
  private static final String JOB = "01JOB";
  private static final String SET = "01M9SET0000000000000000000";

  @TempDir Path tmp;
  private HttpServer server;
  private final CountDownLatch release = new CountDownLatch(1);
  private final AtomicInteger stalled = new AtomicInteger();

  @BeforeEach
  void fakeWorker() throws IOException {
    Path root = tmp.resolve("target");
    byte[] raw = new byte[64 << 10]; // the chunk (never delivered whole, so its content does not matter)
    java.util.Arrays.fill(raw, (byte) 'x');
    byte[] frame = Zstd.compress(raw, 3);
    String sha = Sha256.of(raw);
    Manifest manifest =
        new Manifest(Manifest.VERSION, root.toString(), List.of(new Manifest.Chunk(sha, raw.length, frame.length)),
            null, "a".repeat(64), raw.length, "b".repeat(64), frame.length, 1, List.of());
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(Executors.newCachedThreadPool());
    String base = "http://127.0.0.1:" + server.getAddress().getPort();
    Map<String, Object> set = new LinkedHashMap<>();
    set.put("set_id", SET);
    set.put("name", "cargo");
    set.put("scope", "branch:main");
    set.put("fallback_level", 0);
    set.put("status", "live");
    set.put("root", root.toString());
    set.put("tar_sha256", "a".repeat(64));
    set.put("tar_size", raw.length);
    set.put("archive_sha256", "b".repeat(64));
    set.put("archive_size", frame.length);
    set.put("file_count", 1);
    set.put("chunk_count", 1);
    set.put("created_at", "2026-12-01T00:00:00Z");
    set.put("created_by_job", "01OTHERJOB");
    server.createContext("/v1/jobs/" + JOB + "/sets/cargo", x -> answer(x, JSON.writeValueAsBytes(set)));
    server.createContext("/v1/jobs/" + JOB + "/sets/" + SET + "/manifest",
        x -> answer(x, manifest.toJson().getBytes(StandardCharsets.UTF_8)));
    server.createContext("/v1/jobs/" + JOB + "/sets/" + SET + "/chunk-urls",
        x -> answer(x, JSON.writeValueAsBytes(Map.of("chunks", Map.of(sha, base + "/bucket/chunks/" + sha)))));
    server.createContext("/v1/jobs/" + JOB + "/sets/" + SET + "/chunks/", x -> stall(x, frame));
    server.createContext("/bucket/chunks/", x -> stall(x, frame));
    server.start();
  }

  @AfterEach
  void stop() {
    release.countDown();
    server.stop(0);
  }

  private static void answer(HttpExchange x, byte[] body) throws IOException {
    x.getResponseHeaders().add("Content-Type", "application/json");
    x.sendResponseHeaders(200, body.length);
    try (OutputStream out = x.getResponseBody()) {
      out.write(body);
    }
  }

  /** Announces the whole frame, sends half of it, and then nothing until the test ends. */
  private void stall(HttpExchange x, byte[] frame) throws IOException {
    stalled.incrementAndGet();
    x.sendResponseHeaders(200, frame.length);
    OutputStream out = x.getResponseBody();
    out.write(frame, 0, frame.length / 2);
    out.flush();
    try {
      release.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    x.close();
  }

  private CliRun restore(String... more) {
    List<String> args = new java.util.ArrayList<>(List.of("restore", "cargo", "--url",
        "http://127.0.0.1:" + server.getAddress().getPort(), "--token", "ejt1.x.1.y", "--job", JOB, "--timeout", "3s"));
    args.addAll(List.of(more));
    return assertTimeoutPreemptively(Duration.ofSeconds(60), () -> RunningWorker.run(args.toArray(String[]::new)),
        "the restore must end at its deadline");
  }

  @Test
  void aStoreThatStallsMidChunkEndsTheRestoreAtItsDeadlineWithoutFailingTheJob() throws IOException {
    CliRun lenient = restore();
    assertThat(stalled).as("the chunk was asked for").hasPositiveValue();
    assertThat(lenient.exit()).as(lenient.err()).isZero();
    assertThat(lenient.err())
        .contains("restore: cargo: set " + SET + " not restored, the target is as it was")
        .contains("deadline of 3s")
        .contains("--strict makes this exit 3");
    assertThat(Files.exists(tmp.resolve("target"))).as("nothing written").isFalse();
    try (var left = Files.list(tmp)) {
      assertThat(left.map(p -> p.getFileName().toString())).as("no staging left behind").isEmpty();
    }

    CliRun strict = restore("--strict");
    assertThat(strict.exit()).as(strict.err()).isEqualTo(3);
  }
}
