package dev.ephemera.store;

import java.time.Duration;
import java.util.Objects;

/**
 * How often and how patiently a {@link Retry} tries: at most {@code maxAttempts} calls, waiting
 * {@code initialDelay * multiplier^(n-1)} (capped at {@code maxDelay}) after the n-th failure, with
 * "equal jitter": a uniformly random part of up to {@code jitter} of each delay is taken off, so
 * that many workers failing together do not retry in lockstep.
 *
 * @param maxAttempts total calls including the first, at least 1
 * @param initialDelay delay after the first failure
 * @param maxDelay upper bound for any single delay
 * @param multiplier growth per attempt, at least 1
 * @param jitter fraction of each delay that is randomised, in [0, 1]
 */
public record Backoff(
    int maxAttempts, Duration initialDelay, Duration maxDelay, double multiplier, double jitter) {

  public Backoff {
    Objects.requireNonNull(initialDelay, "initialDelay");
    Objects.requireNonNull(maxDelay, "maxDelay");
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be at least 1, was " + maxAttempts);
    }
    if (initialDelay.isNegative() || maxDelay.isNegative()) {
      throw new IllegalArgumentException("delays must not be negative");
    }
    if (maxDelay.compareTo(initialDelay) < 0) {
      throw new IllegalArgumentException(
          "maxDelay " + maxDelay + " is shorter than initialDelay " + initialDelay);
    }
    if (!(multiplier >= 1.0) || Double.isInfinite(multiplier)) {
      throw new IllegalArgumentException(
          "multiplier must be a finite number >= 1, was " + multiplier);
    }
    if (!(jitter >= 0.0 && jitter <= 1.0)) {
      throw new IllegalArgumentException("jitter must be within [0, 1], was " + jitter);
    }
  }

  /**
   * Exponential backoff doubling from {@code initialDelay} up to {@code maxDelay}, half of each
   * delay jittered.
   */
  public static Backoff exponential(int maxAttempts, Duration initialDelay, Duration maxDelay) {
    return new Backoff(maxAttempts, initialDelay, maxDelay, 2.0, 0.5);
  }

  /** A sensible default for object store calls: 5 attempts, 100 ms doubling to 5 s. */
  public static Backoff defaultForStore() {
    return exponential(5, Duration.ofMillis(100), Duration.ofSeconds(5));
  }

  /** Call once, never retry. */
  public static Backoff none() {
    return new Backoff(1, Duration.ZERO, Duration.ZERO, 1.0, 0.0);
  }

  /**
   * The delay to wait after failed attempt number {@code attempt} (1-based).
   *
   * @param random a number in [0, 1) deciding the jittered part
   */
  public Duration delayAfter(int attempt, double random) {
    if (attempt < 1) {
      throw new IllegalArgumentException("attempt is 1-based, was " + attempt);
    }
    double base = initialDelay.toNanos() * Math.pow(multiplier, attempt - 1);
    double capped = Math.min(base, maxDelay.toNanos());
    double jittered = capped * (1.0 - jitter * random);
    return Duration.ofNanos((long) jittered);
  }
}
