package dev.ephemera.testing;

import dev.ephemera.App;
import dev.ephemera.config.EphemeraConfig;
import dev.ephemera.config.Settings;
import dev.ephemera.worker.Faults;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A worker in a JVM of its own, configured from {@code EPHEMERA_*} variables, that dies at a crash point when
 * {@code EPHEMERA_TEST_CRASH=<point>:<n>} says so: at the n-th time the point is reached the process halts — no
 * shutdown hooks, no finally blocks, no offset or outbox bookkeeping — as a power cut or {@code kill -9} would leave it.
 */
public final class WorkerMain {
  /** The exit status of a deliberate crash. */
  public static final int CRASHED = 137;

  private WorkerMain() {}

  public static void main(String[] args) throws Exception {
    Faults faults = faults(System.getenv("EPHEMERA_TEST_CRASH"));
    EphemeraConfig config =
        EphemeraConfig.from(Settings.load(EphemeraConfig.DEFAULTS, Optional.empty(), System.getenv(), Map.of()));
    App.start(config, Clock.systemUTC(), faults);
    System.err.println("worker-main: ready");
    Thread.currentThread().join();
  }

  static Faults faults(String spec) {
    if (spec == null || spec.isBlank()) {
      return Faults.NONE;
    }
    String[] parts = spec.split(":");
    String point = parts[0];
    AtomicInteger left = new AtomicInteger(Integer.parseInt(parts[1]));
    return at -> {
      if (at.equals(point) && left.decrementAndGet() == 0) {
        System.err.println("worker-main: crashing at " + point);
        Runtime.getRuntime().halt(CRASHED);
      }
    };
  }
}
