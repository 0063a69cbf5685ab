package dev.ephemera.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ephemera.policy.JobContext.Trigger;
import dev.ephemera.policy.OwnerPolicy.DefaultBranchMode;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ScopePolicyTest {

  static Stream<Arguments> table() {
    return Stream.of(
        // trigger, head branch, pr, fork, mode, expected reads, expected write ("" = none)
        row(Trigger.PUSH, "main", null, false, DefaultBranchMode.HERMETIC, "", ""),
        row(Trigger.PUSH, "main", null, false, DefaultBranchMode.SEED, "", "branch:main"),
        row(Trigger.PUSH, "feature", null, false, DefaultBranchMode.HERMETIC, "branch:feature,branch:main", "branch:feature"),
        row(Trigger.PUSH, "feature", null, false, DefaultBranchMode.SEED, "branch:feature,branch:main", "branch:feature"),
        row(Trigger.PULL_REQUEST, "feature", 1432, false, DefaultBranchMode.HERMETIC,
            "pr:1432,branch:feature,branch:main", "pr:1432"),
        row(Trigger.PULL_REQUEST, "feature", null, false, DefaultBranchMode.HERMETIC,
            "branch:feature,branch:main", "branch:feature"),
        row(Trigger.PULL_REQUEST, null, 7, true, DefaultBranchMode.HERMETIC, "pr:7,branch:main", "pr:7"),
        row(Trigger.PULL_REQUEST, null, 7, true, DefaultBranchMode.SEED, "pr:7,branch:main", "pr:7"),
        row(Trigger.PULL_REQUEST, null, null, true, DefaultBranchMode.HERMETIC, "branch:main", ""),
        // a fork's branch name is attacker-chosen: even if present it is never read nor written
        row(Trigger.PULL_REQUEST, "main", 9, true, DefaultBranchMode.HERMETIC, "pr:9,branch:main", "pr:9"),
        // a same-repository PR from the default branch itself must not write the default scope
        row(Trigger.PULL_REQUEST, "main", null, false, DefaultBranchMode.HERMETIC, "branch:main", ""),
        row(Trigger.PUSH, null, null, false, DefaultBranchMode.HERMETIC, "", ""));
  }

  private static Arguments row(
      Trigger trigger, String head, Integer pr, boolean fork, DefaultBranchMode mode, String reads, String write) {
    return Arguments.of(trigger, head, pr, fork, mode, reads, write);
  }

  @ParameterizedTest(name = "{0} head={1} pr={2} fork={3} {4} -> reads [{5}] writes [{6}]")
  @MethodSource("table")
  void followsTheTrustTableOfTheDesign(
      Trigger trigger, String head, Integer pr, boolean fork, DefaultBranchMode mode, String reads, String write) {
    Access access = ScopePolicy.access(new JobContext("gong-1", trigger, head, "main", pr, fork), mode);
    List<String> expectedReads = reads.isEmpty() ? List.of() : Arrays.asList(reads.split(","));
    assertThat(access.reads()).map(Scope::toString).containsExactlyElementsOf(expectedReads);
    assertThat(access.write().map(Scope::toString).orElse("")).isEqualTo(write);
  }

  @Property
  void nothingAPullRequestWritesIsReadByADefaultBranchPush(
      @ForAll("jobs") JobContext writer, @ForAll("modes") DefaultBranchMode mode) {
    JobContext mainPush = new JobContext(writer.owner(), Trigger.PUSH, "main", "main", null, false);
    Access reader = ScopePolicy.access(mainPush, mode);
    if (writer.trigger() == Trigger.PULL_REQUEST) {
      ScopePolicy.access(writer, mode).write().ifPresent(w -> assertThat(reader.mayRead(w)).isFalse());
    }
    assertThat(reader.reads()).isEmpty();
  }

  @Property
  void aForkWritesOnlyAScopeThatOnlyItsOwnPullRequestReads(
      @ForAll("jobs") JobContext fork, @ForAll("jobs") JobContext other, @ForAll("modes") DefaultBranchMode mode) {
    if (!fork.fork()) {
      return;
    }
    ScopePolicy.access(fork, mode)
        .write()
        .ifPresent(
            written -> {
              assertThat(written.kind()).isEqualTo(Scope.Kind.PR);
              boolean samePullRequest =
                  other.trigger() == Trigger.PULL_REQUEST && fork.pullRequest().equals(other.pullRequest());
              if (!samePullRequest) {
                assertThat(ScopePolicy.access(other, mode).mayRead(written)).isFalse();
              }
            });
  }

  @Property
  void everyJobMayReadWhatItWritesUnlessItIsHermetic(
      @ForAll("jobs") JobContext job, @ForAll("modes") DefaultBranchMode mode) {
    Access access = ScopePolicy.access(job, mode);
    if (!job.isDefaultBranchPush()) {
      access.write().ifPresent(w -> assertThat(access.fallbackLevel(w)).isZero());
    }
  }

  @Provide
  Arbitrary<DefaultBranchMode> modes() {
    return Arbitraries.of(DefaultBranchMode.class);
  }

  @Provide
  Arbitrary<JobContext> jobs() {
    Arbitrary<String> branches = Arbitraries.of("main", "feature", "release/1", "dependabot/x");
    Arbitrary<Integer> prs = Arbitraries.integers().between(1, 4).injectNull(0.2);
    Arbitrary<Boolean> forks = Arbitraries.of(true, false);
    Arbitrary<Trigger> triggers = Arbitraries.of(Trigger.class);
    return Combinators.combine(triggers, branches.injectNull(0.2), prs, forks)
        .as(
            (trigger, branch, pr, fork) ->
                trigger == Trigger.PUSH
                    ? new JobContext("gong-1", trigger, branch, "main", null, false)
                    : new JobContext("gong-1", trigger, fork ? null : branch, "main", pr, fork));
  }

  @org.junit.jupiter.api.Test
  void scopesParseAndPrintTheirTextForm() {
    assertThat(Scope.parse("branch:release/1.0")).isEqualTo(Scope.branch("release/1.0"));
    assertThat(Scope.parse("pr:1432")).isEqualTo(Scope.pullRequest(1432));
    assertThat(Scope.pullRequest(5).toString()).isEqualTo("pr:5");
    assertThatThrownBy(() -> Scope.parse("pr:abc")).hasMessageContaining("positive number");
    assertThatThrownBy(() -> Scope.parse("tag:v1")).hasMessageContaining("branch:<name> or pr:<number>");
    assertThatThrownBy(() -> Scope.parse("branch:")).hasMessageContaining("must not be empty");
  }
}
