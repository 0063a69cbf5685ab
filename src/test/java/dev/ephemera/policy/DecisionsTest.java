package dev.ephemera.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ephemera.policy.Decisions.PendingSet;
import dev.ephemera.policy.Decisions.Result;
import dev.ephemera.policy.JobContext.Trigger;
import dev.ephemera.policy.OwnerPolicy.DefaultBranchMode;
import dev.ephemera.policy.OwnerPolicy.When;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DecisionsTest {
  private static final JobContext PR_JOB = new JobContext("gong-1", Trigger.PULL_REQUEST, "feature", "main", 12, false);
  private static final JobContext MAIN_PUSH = new JobContext("gong-1", Trigger.PUSH, "main", "main", null, false);

  private static Decisions.HeadLookup heads(Map<String, String> byNameAndScope) {
    return (name, scope) -> Optional.ofNullable(byNameAndScope.get(name + "@" + scope));
  }

  @Test
  void stagesTheNewestSetOfTheFirstReadableScopeWithItsFallbackLevel() {
    var decisions =
        Decisions.onStarted(
            PR_JOB,
            OwnerPolicy.DEFAULTS,
            List.of("cargo", "m2", "target"),
            heads(Map.of("cargo@branch:main", "S-main", "cargo@branch:feature", "S-feature", "m2@pr:12", "S-pr")));
    assertThat(decisions)
        .containsExactly(
            new Decision.Stage("cargo", "S-feature", Scope.branch("feature"), 1),
            new Decision.Stage("m2", "S-pr", Scope.pullRequest(12), 0),
            new Decision.Ignore("target", "no live set target (tried pr:12, branch:feature, branch:main)"));
  }

  @Test
  void stagesNothingForADefaultBranchPushEvenWhenSetsExist() {
    for (DefaultBranchMode mode : DefaultBranchMode.values()) {
      var policy = new OwnerPolicy(mode, 1024, Duration.ofDays(1), When.SUCCESS);
      var decisions = Decisions.onStarted(MAIN_PUSH, policy, List.of("cargo"), heads(Map.of("cargo@branch:main", "S")));
      assertThat(decisions).containsExactly(new Decision.Ignore("cargo", "hermetic: this job reads no persisted sets"));
    }
  }

  @Test
  void declaringTheSameNameTwiceStagesItOnce() {
    var decisions =
        Decisions.onStarted(PR_JOB, OwnerPolicy.DEFAULTS, List.of("cargo", "cargo"), heads(Map.of("cargo@pr:12", "S")));
    assertThat(decisions).hasSize(1);
  }

  static Stream<Arguments> completions() {
    return Stream.of(
        Arguments.of(Result.SUCCESS, When.SUCCESS, "capture"),
        Arguments.of(Result.SUCCESS, When.ALWAYS, "capture"),
        Arguments.of(Result.FAILURE, When.SUCCESS, "job failed"),
        Arguments.of(Result.FAILURE, When.ALWAYS, "capture"),
        Arguments.of(Result.CANCELLED, When.SUCCESS, "job cancelled"),
        Arguments.of(Result.CANCELLED, When.ALWAYS, "job cancelled"));
  }

  @ParameterizedTest(name = "{0} with when={1} -> {2}")
  @MethodSource("completions")
  void capturesOrDiscardsPendingSetsByResultAndWhen(Result result, When when, String expected) {
    var pending = new PendingSet("S1", "cargo", Scope.pullRequest(12), when);
    Decision decision = Decisions.onCompleted(result, List.of(pending)).get(0);
    if (expected.equals("capture")) {
      assertThat(decision).isEqualTo(new Decision.Capture("S1", "cargo", Scope.pullRequest(12)));
    } else {
      assertThat(decision).isEqualTo(new Decision.Discard("S1", "cargo", Scope.pullRequest(12), expected));
    }
  }

  @Test
  void aJobWithNoPendingSetsDecidesNothingAtCompletion() {
    assertThat(Decisions.onCompleted(Result.SUCCESS, List.of())).isEmpty();
  }
}
