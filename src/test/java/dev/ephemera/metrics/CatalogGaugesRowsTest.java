package dev.ephemera.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CatalogGaugesRowsTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final CatalogGauges.Rows rows =
      new CatalogGauges.Rows(MultiGauge.builder("ephemera.test.rows").register(registry), "owner");

  private Gauge gauge(String owner) {
    return registry.find("ephemera.test.rows").tag("owner", owner).gauge();
  }

  private static Map<String, Long> figures(Object... pairs) {
    Map<String, Long> m = new LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      m.put((String) pairs[i], ((Number) pairs[i + 1]).longValue());
    }
    return m;
  }

  @Test
  void aRefreshChangesFiguresInPlaceSoAScrapeNeverFindsARowMissing() {
    rows.set(figures("acme", 1, "zeta", 2));
    Gauge acme = gauge("acme");
    assertThat(acme.value()).isEqualTo(1.0);
    assertThat(gauge("zeta").value()).isEqualTo(2.0);

    rows.set(figures("acme", 5));

    // the same meter, never removed and registered again: only its figure changed
    assertThat(gauge("acme")).isSameAs(acme);
    assertThat(acme.value()).isEqualTo(5.0);
    assertThat(gauge("zeta")).isNull();

    rows.set(figures("acme", 6, "zeta", 7));
    assertThat(gauge("acme")).isSameAs(acme);
    assertThat(acme.value()).isEqualTo(6.0);
    assertThat(gauge("zeta").value()).isEqualTo(7.0);

    rows.set(Map.of());
    assertThat(registry.find("ephemera.test.rows").gauges()).isEmpty();
  }
}
