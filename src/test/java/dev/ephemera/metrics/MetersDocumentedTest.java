package dev.ephemera.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Without services: every meter named in {@link Meters} is in the README's Metrics section and on a dashboard panel.
 * ({@code GrafanaQueriesIT} checks the same from a real worker's scrape, including meters registered lazily.)
 */
class MetersDocumentedTest {

  private static String dashboards() throws Exception {
    StringBuilder all = new StringBuilder();
    try (Stream<Path> files = Files.list(Path.of("grafana/dashboards"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".json")).toList()) {
        all.append(Files.readString(f));
      }
    }
    return all.toString();
  }

  @Test
  void everyMeterIsDocumentedInTheReadmeAndShownOnAPanel() throws Exception {
    String readme = Files.readString(Path.of("README.md"));
    String metricsSection = readme.substring(readme.indexOf("## Metrics"));
    String panels = dashboards();
    List<String> missing = new ArrayList<>();
    for (String name : Meters.ALL) {
      String prometheus = "`" + name.replace('.', '_');
      if (!metricsSection.contains(prometheus)) {
        missing.add(name + " is not in the README's Metrics section");
      }
      if (!panels.contains(name.replace('.', '_'))) {
        missing.add(name + " is on no dashboard panel");
      }
    }
    assertThat(missing).isEmpty();
  }

  @Test
  void meterNamesAreDistinctAndFollowTheConvention() {
    assertThat(Meters.ALL).doesNotHaveDuplicates();
    assertThat(Meters.ALL).allMatch(n -> n.matches("ephemera(\\.[a-z]+)+"), "ephemera.<lower-case words>");
  }

  @Test
  void aRouteTimesItsPersistOrRestoreStepAndAMissIsNotAnError() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Meters meters = new Meters(registry);
    meters.http("PUT", "/v1/jobs/{job}/chunks/{sha}", 201, 0.02);
    meters.http("GET", "/v1/jobs/{job}/sets/{name}", 404, 0.01);
    meters.http("GET", "/v1/jobs/{job}/sets/{set}/chunks/{sha}", 500, 0.01);
    meters.http("BREW", "/nope", 404, 0.01);
    assertThat(registry.get(Meters.PERSIST_SECONDS).tag("step", "chunk_upload").tag("outcome", "ok").timer().count())
        .isEqualTo(1);
    assertThat(registry.get(Meters.RESTORE_SECONDS).tag("step", "resolve").tag("outcome", "ok").timer().count())
        .isEqualTo(1);
    assertThat(registry.get(Meters.RESTORE_SECONDS).tag("step", "chunk_download").tag("outcome", "error").timer().count())
        .isEqualTo(1);
    // an unknown method does not become a tag value of its own
    assertThat(registry.get(Meters.HTTP_REQUESTS).tag("method", "other").timer().count()).isEqualTo(1);
  }
}
