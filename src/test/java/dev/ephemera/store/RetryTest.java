package dev.ephemera.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RetryTest {

  private final List<Duration> slept = new ArrayList<>();
  private final List<String> reported = new ArrayList<>();

  private final Retry.Listener recorder =
      new Retry.Listener() {
        @Override
        public void retrying(int attempt, Throwable failure, Duration delay) {
          reported.add(
              "retrying "
                  + attempt
                  + " after "
                  + failure.getMessage()
                  + " in "
                  + delay.toMillis()
                  + "ms");
        }

        @Override
        public void gaveUp(int attempts, Throwable failure) {
          reported.add("gave up after " + attempts + ": " + failure.getMessage());
        }
      };

  /** Four attempts, 100 ms doubling, no jitter, and a sleeper that only records. */
  private Retry retry() {
    return Retry.withBackoff(
            new Backoff(4, Duration.ofMillis(100), Duration.ofSeconds(1), 2.0, 0.0),
            ObjectStoreException::isTransient)
        .withListener(recorder)
        .withSleeper(slept::add, () -> 0.0);
  }

  private static ObjectStoreException transientFailure(int n) {
    return new ObjectStoreException("timeout " + n, true);
  }

  @AfterEach
  void clearInterrupt() {
    // a test that leaves the flag set would break whatever runs next on this thread
    Thread.interrupted();
  }

  @Test
  void aCallThatWorksAtOnceIsMadeOnceAndReportsOneAttempt() {
    AtomicInteger calls = new AtomicInteger();

    Retry.Outcome<String> outcome =
        retry()
            .run(
                () -> {
                  calls.incrementAndGet();
                  return "ok";
                });

    assertThat(outcome).isEqualTo(new Retry.Outcome<>("ok", 1));
    assertThat(calls).hasValue(1);
    assertThat(slept).isEmpty();
    assertThat(reported).isEmpty();
  }

  @Test
  void transientFailuresAreRetriedWithGrowingDelaysUntilTheCallWorks() {
    AtomicInteger calls = new AtomicInteger();

    Retry.Outcome<String> outcome =
        retry()
            .run(
                () -> {
                  int n = calls.incrementAndGet();
                  if (n < 3) {
                    throw transientFailure(n);
                  }
                  return "third time lucky";
                });

    assertThat(outcome.value()).isEqualTo("third time lucky");
    assertThat(outcome.attempts()).isEqualTo(3);
    assertThat(slept).containsExactly(Duration.ofMillis(100), Duration.ofMillis(200));
    assertThat(reported)
        .containsExactly(
            "retrying 1 after timeout 1 in 100ms", "retrying 2 after timeout 2 in 200ms");
  }

  @Test
  void aPermanentFailureIsRethrownAtOnceWithoutRetrying() {
    AtomicInteger calls = new AtomicInteger();
    ObjectStoreException denied = new ObjectStoreException("access denied", false);

    assertThatThrownBy(
            () ->
                retry()
                    .call(
                        () -> {
                          calls.incrementAndGet();
                          throw denied;
                        }))
        .isSameAs(denied);

    assertThat(calls).hasValue(1);
    assertThat(slept).isEmpty();
    assertThat(reported).containsExactly("gave up after 1: access denied");
  }

  @Test
  void afterTheLastAttemptTheLastFailureIsRethrownWithTheEarlierOnesSuppressed() {
    AtomicInteger calls = new AtomicInteger();

    assertThatThrownBy(
            () ->
                retry()
                    .call(
                        () -> {
                          throw transientFailure(calls.incrementAndGet());
                        }))
        .hasMessage("timeout 4")
        .satisfies(
            e ->
                assertThat(e.getSuppressed())
                    .singleElement()
                    .satisfies(s -> assertThat(s).hasMessage("timeout 3")));

    assertThat(calls).hasValue(4);
    assertThat(slept)
        .containsExactly(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(400));
    assertThat(reported).last().isEqualTo("gave up after 4: timeout 4");
  }

  @Test
  void aCheckedExceptionPassesThroughWithItsOwnType() {
    Retry retry =
        Retry.withBackoff(
                Backoff.exponential(3, Duration.ofMillis(1), Duration.ofMillis(1)),
                e -> e instanceof IOException)
            .withListener(recorder)
            .withSleeper(slept::add, () -> 0.0);
    AtomicInteger calls = new AtomicInteger();

    assertThatThrownBy(
            () ->
                retry.call(
                    () -> {
                      calls.incrementAndGet();
                      throw new IOException("disk on fire");
                    }))
        .isInstanceOf(IOException.class)
        .hasMessage("disk on fire");

    assertThat(calls).hasValue(3);
  }

  @Test
  void aWaitCutShortByAnInterruptStopsRetryingAndRestoresTheInterruptFlag() {
    // the real sleeper: Thread.sleep throws at once because the flag is already set
    Retry retry =
        Retry.withBackoff(
                Backoff.exponential(5, Duration.ofSeconds(30), Duration.ofSeconds(30)),
                ObjectStoreException::isTransient)
            .withListener(recorder);
    AtomicInteger calls = new AtomicInteger();
    Thread.currentThread().interrupt();

    assertThatThrownBy(
            () ->
                retry.call(
                    () -> {
                      throw transientFailure(calls.incrementAndGet());
                    }))
        .hasMessage("timeout 1")
        .satisfies(
            e ->
                assertThat(e.getSuppressed())
                    .singleElement()
                    .isInstanceOf(InterruptedException.class));

    assertThat(Thread.currentThread().isInterrupted()).isTrue();
    assertThat(calls).hasValue(1);
    assertThat(reported).last().isEqualTo("gave up after 1: timeout 1");
  }

  @Test
  void noneMeansExactlyOneAttempt() {
    AtomicInteger calls = new AtomicInteger();
    Retry retry =
        Retry.withBackoff(Backoff.none(), e -> true)
            .withListener(recorder)
            .withSleeper(slept::add, () -> 0.0);

    assertThatThrownBy(
            () ->
                retry.execute(
                    () -> {
                      throw transientFailure(calls.incrementAndGet());
                    }))
        .hasMessage("timeout 1");

    assertThat(calls).hasValue(1);
  }

  @Test
  void retriesAStoreCallAroundARealStore(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    try (ObjectStore store = new LocalDirectoryStore(dir)) {
      Retry.Outcome<Void> outcome =
          retry()
              .run(
                  () -> {
                    store.put("chunks/abc", new byte[] {42});
                    return null;
                  });

      assertThat(outcome.attempts()).isEqualTo(1);
      assertThat(store.getBytes("chunks/abc"))
          .hasValueSatisfying(b -> assertThat(b).containsExactly(42));
    }
  }
}
