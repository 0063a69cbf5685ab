package dev.ephemera.testing;

import dev.ephemera.config.Settings;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs a worker as a child JVM ({@link WorkerMain}) and starts it again whenever it exits, as an orchestrator would.
 * The i-th start crashes as {@code crashes.get(i)} says (e.g. {@code after-apply:25}); later starts run clean.
 */
public final class Supervisor implements AutoCloseable {
  private final Map<String, String> settings;
  private final List<String> crashes;
  private final Path log;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final List<Integer> exits = new CopyOnWriteArrayList<>();
  private final Thread thread;
  private volatile Process current;

  public Supervisor(Map<String, String> settings, List<String> crashes, Path log) {
    this.settings = settings;
    this.crashes = new ArrayList<>(crashes);
    this.log = log;
    this.thread = new Thread(this::loop, "supervisor");
    thread.setDaemon(true);
    thread.start();
  }

  private void loop() {
    int start = 0;
    while (running.get()) {
      String crash = start < crashes.size() ? crashes.get(start) : "";
      start++;
      try {
        Process p = launch(crash);
        current = p;
        int exit = p.waitFor();
        if (running.get()) {
          exits.add(exit);
        }
      } catch (IOException e) {
        throw new IllegalStateException("cannot start the worker process", e);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private Process launch(String crash) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx512m");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(WorkerMain.class.getName());
    ProcessBuilder pb = new ProcessBuilder(cmd);
    Map<String, String> env = pb.environment();
    settings.forEach((k, v) -> env.put(Settings.envName(k), v));
    env.put("EPHEMERA_TEST_CRASH", crash);
    env.put("LC_ALL", "C.UTF-8");
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    return pb.start();
  }

  /** Exit codes of the worker processes that ended while supervised (a crash is {@link WorkerMain#CRASHED}). */
  public List<Integer> exits() {
    return List.copyOf(exits);
  }

  /** Kills the current worker process at once (SIGKILL); the supervisor starts another. */
  public void kill() {
    Process p = current;
    if (p != null) {
      p.destroyForcibly();
    }
  }

  /** Waits until the current worker answers /health/ready. */
  public void awaitReady(Duration timeout) {
    URI ready = URI.create(settings.get("http.public-url") + "/health/ready");
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    org.awaitility.Awaitility.await()
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(200))
        .ignoreExceptions()
        .until(
            () ->
                http.send(HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.discarding())
                    .statusCode()
                    == 200);
  }

  @Override
  public void close() throws InterruptedException {
    running.set(false);
    Process p = current;
    if (p != null) {
      p.destroy();
      if (!p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
    thread.interrupt();
    thread.join(5000);
  }

  static String classpathSeparator() {
    return File.pathSeparator;
  }
}
