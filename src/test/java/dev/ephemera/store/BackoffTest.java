package dev.ephemera.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class BackoffTest {

  private final Backoff backoff =
      new Backoff(10, Duration.ofMillis(100), Duration.ofSeconds(2), 2.0, 0.5);

  @Test
  void delaysDoubleFromTheInitialDelayUntilTheCap() {
    assertThat(backoff.delayAfter(1, 0.0)).isEqualTo(Duration.ofMillis(100));
    assertThat(backoff.delayAfter(2, 0.0)).isEqualTo(Duration.ofMillis(200));
    assertThat(backoff.delayAfter(5, 0.0)).isEqualTo(Duration.ofMillis(1600));
    assertThat(backoff.delayAfter(6, 0.0)).isEqualTo(Duration.ofSeconds(2));
    assertThat(backoff.delayAfter(1_000, 0.0)).isEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void jitterTakesOffAtMostItsShareOfTheDelay() {
    assertThat(backoff.delayAfter(2, 0.5)).isEqualTo(Duration.ofMillis(150));
    assertThat(backoff.delayAfter(2, 0.999_999)).isGreaterThan(Duration.ofMillis(100));
  }

  @Property
  void everyDelayLiesBetweenHalfTheCappedDelayAndTheCap(
      @ForAll @IntRange(min = 1, max = 200) int attempt,
      @ForAll @DoubleRange(min = 0.0, max = 1.0, maxIncluded = false) double random) {
    Duration delay = backoff.delayAfter(attempt, random);

    Duration capped = backoff.delayAfter(attempt, 0.0);
    assertThat(delay).isLessThanOrEqualTo(capped).isGreaterThanOrEqualTo(capped.dividedBy(2));
    assertThat(capped).isLessThanOrEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void nonsenseSettingsAreRejected() {
    assertThatThrownBy(() -> new Backoff(0, Duration.ZERO, Duration.ZERO, 1, 0))
        .hasMessageContaining("maxAttempts");
    assertThatThrownBy(() -> new Backoff(3, Duration.ofSeconds(2), Duration.ofSeconds(1), 2, 0))
        .hasMessageContaining("maxDelay");
    assertThatThrownBy(() -> new Backoff(3, Duration.ofMillis(-1), Duration.ofSeconds(1), 2, 0))
        .hasMessageContaining("negative");
    assertThatThrownBy(() -> new Backoff(3, Duration.ZERO, Duration.ZERO, 0.5, 0))
        .hasMessageContaining("multiplier");
    assertThatThrownBy(() -> new Backoff(3, Duration.ZERO, Duration.ZERO, Double.NaN, 0))
        .hasMessageContaining("multiplier");
    assertThatThrownBy(() -> new Backoff(3, Duration.ZERO, Duration.ZERO, 2, 1.5))
        .hasMessageContaining("jitter");
    assertThatThrownBy(() -> backoff.delayAfter(0, 0.0)).hasMessageContaining("1-based");
  }
}
