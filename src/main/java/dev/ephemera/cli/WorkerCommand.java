package dev.ephemera.cli;

import dev.ephemera.App;
import dev.ephemera.config.EphemeraConfig;
import dev.ephemera.config.Settings;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ephemera worker}: the one process kind. Runs until SIGTERM/SIGINT, then drains and stops. */
@Command(
    name = "worker",
    mixinStandardHelpOptions = true,
    description = "Run a worker: Kafka consumer, outbox publisher, HTTP API, /metrics (configuration: README).")
public final class WorkerCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE", description = "TOML config file.")
  Path config;

  @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override one setting (repeatable).")
  Map<String, String> overrides = new LinkedHashMap<>();

  @Option(names = "--print-config", description = "Print the effective settings and where each came from, then exit.")
  boolean printConfig;

  @Override
  public Integer call() throws Exception {
    Settings settings = Settings.load(EphemeraConfig.DEFAULTS, Optional.ofNullable(config), System.getenv(), overrides);
    if (printConfig) {
      PrintWriter out = spec.commandLine().getOut();
      settings.asMap().forEach((k, v) -> {
        boolean secret = k.contains("token") || k.contains("key") || k.contains("password");
        out.printf("%-26s = %-40s (%s)%n", k, secret && !v.isEmpty() ? "****" : v, settings.origins().get(k));
      });
      out.flush();
      return 0;
    }
    EphemeraConfig cfg = EphemeraConfig.from(settings);
    App app = App.start(cfg, Clock.systemUTC());
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    app.close();
                  } catch (Exception e) {
                    System.err.println("ephemera: shutdown: " + e.getMessage());
                  } finally {
                    done.countDown();
                  }
                },
                "ephemera-shutdown"));
    spec.commandLine().getErr().println("ephemera worker listening on port " + app.apiPort());
    spec.commandLine().getErr().flush();
    done.await();
    return 0;
  }
}
