package dev.ephemera.store;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retries a call, kept apart from the call itself: a {@link Backoff} says how often and how long to
 * wait, a predicate says which failures are worth another try (for store calls, {@link
 * ObjectStoreException#isTransient(Throwable)}).
 *
 * <pre>{@code
 * Retry retry = Retry.withBackoff(Backoff.defaultForStore(), ObjectStoreException::isTransient);
 * byte[] manifest = retry.call(() -> store.getBytes(key)).orElseThrow();
 * Retry.Outcome<Void> put = retry.run(() -> { store.put(key, bytes); return null; });
 * put.attempts(); // 1 when the first call worked
 * }</pre>
 *
 * <p>A failure the predicate rejects, or the last allowed one, is rethrown as it was, with the
 * earlier failures attached as suppressed exceptions. If the thread is interrupted while waiting,
 * the wait ends, the interrupt flag is set again and the last failure is rethrown: the caller's own
 * interruption handling then sees the flag. Immutable and thread-safe.
 */
public final class Retry {

  private static final Logger LOGGER = LoggerFactory.getLogger(Retry.class);

  /** A call that may throw {@code E}. */
  @FunctionalInterface
  public interface Attempt<T, E extends Exception> {
    T call() throws E;
  }

  /** Told about each failure that leads to another attempt, and about giving up. */
  public interface Listener {
    /** Failed attempt {@code attempt} (1-based) will be followed by another after {@code delay}. */
    default void retrying(int attempt, Throwable failure, Duration delay) {}

    /** The call failed for good after {@code attempts} attempts. */
    default void gaveUp(int attempts, Throwable failure) {}
  }

  /** Sleeps; replaceable so unit tests do not wait. */
  @FunctionalInterface
  interface Sleeper {
    void sleep(Duration duration) throws InterruptedException;
  }

  /**
   * A successful result and how many attempts it took (1 = the first call worked).
   *
   * @param value what the call returned
   * @param attempts calls made, at least 1
   */
  public record Outcome<T>(T value, int attempts) {
    public Outcome {
      if (attempts < 1) {
        throw new IllegalArgumentException("attempts must be at least 1, was " + attempts);
      }
    }
  }

  private static final Listener LOGGING =
      new Listener() {
        @Override
        public void retrying(int attempt, Throwable failure, Duration delay) {
          LOGGER
              .atWarn()
              .addKeyValue("attempt", attempt)
              .addKeyValue("delay_ms", delay.toMillis())
              .addKeyValue("error", String.valueOf(failure))
              .log("call failed, retrying");
        }

        @Override
        public void gaveUp(int attempts, Throwable failure) {
          LOGGER
              .atWarn()
              .addKeyValue("attempts", attempts)
              .addKeyValue("error", String.valueOf(failure))
              .log("call failed, giving up");
        }
      };

  private final Backoff backoff;
  private final Predicate<Throwable> retryable;
  private final Listener listener;
  private final Sleeper sleeper;
  private final DoubleSupplier random;

  private Retry(
      Backoff backoff,
      Predicate<Throwable> retryable,
      Listener listener,
      Sleeper sleeper,
      DoubleSupplier random) {
    this.backoff = Objects.requireNonNull(backoff, "backoff");
    this.retryable = Objects.requireNonNull(retryable, "retryable");
    this.listener = Objects.requireNonNull(listener, "listener");
    this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
    this.random = Objects.requireNonNull(random, "random");
  }

  /**
   * Retries failures {@code retryable} accepts, as {@code backoff} allows, logging each retry at
   * WARN.
   */
  public static Retry withBackoff(Backoff backoff, Predicate<Throwable> retryable) {
    return new Retry(
        backoff,
        retryable,
        LOGGING,
        duration -> Thread.sleep(duration.toMillis(), duration.toNanosPart() % 1_000_000),
        () -> ThreadLocalRandom.current().nextDouble());
  }

  /**
   * The same policy, reporting retries to {@code listener} instead of the log (e.g. to count them
   * in a metric).
   */
  public Retry withListener(Listener listener) {
    return new Retry(backoff, retryable, listener, sleeper, random);
  }

  Retry withSleeper(Sleeper sleeper, DoubleSupplier random) {
    return new Retry(backoff, retryable, listener, sleeper, random);
  }

  /** Calls {@code attempt} until it succeeds or may not be retried, and returns its value. */
  public <T, E extends Exception> T call(Attempt<T, E> attempt) throws E {
    return run(attempt).value();
  }

  /** Like {@link #call}, for a call without a result. */
  public <E extends Exception> void execute(Attempt<?, E> attempt) throws E {
    run(attempt);
  }

  /**
   * Calls {@code attempt} until it succeeds or may not be retried; returns the value and the
   * attempt count.
   */
  public <T, E extends Exception> Outcome<T> run(Attempt<T, E> attempt) throws E {
    E first = null;
    for (int n = 1; ; n++) {
      E failure;
      try {
        T value = attempt.call();
        return new Outcome<>(value, n);
      } catch (Exception e) {
        // Attempt<T, E> can only throw E or an unchecked exception; both are rethrown unchanged
        @SuppressWarnings("unchecked")
        E thrown = (E) e;
        failure = thrown;
      }
      if (first != null && first != failure) {
        failure.addSuppressed(first);
      }
      first = failure;
      if (n >= backoff.maxAttempts() || !retryable.test(failure)) {
        listener.gaveUp(n, failure);
        throw failure;
      }
      Duration delay = backoff.delayAfter(n, random.getAsDouble());
      listener.retrying(n, failure, delay);
      try {
        sleeper.sleep(delay);
      } catch (InterruptedException interrupted) {
        Thread.currentThread().interrupt();
        failure.addSuppressed(interrupted);
        listener.gaveUp(n, failure);
        throw failure;
      }
    }
  }
}
