package dev.ephemera.catalog;

import static dev.ephemera.catalog.CatalogFixtures.T0;
import static dev.ephemera.catalog.CatalogFixtures.job;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The catalog's rows reject what the schema would reject, before a round trip to Postgres. */
class CatalogRowsTest {

  @Test
  void everySetStatusRoundTripsThroughItsStoredForm() {
    for (SetStatus status : SetStatus.values()) {
      assertThat(SetStatus.fromDb(status.db())).isEqualTo(status);
      assertThat(status.db()).isLowerCase();
    }
    for (UseKind kind : UseKind.values()) {
      assertThat(UseKind.fromDb(kind.db())).isEqualTo(kind);
    }
  }

  @Test
  void aJobWithAnUnknownTriggerOrResultIsRefused() {
    JobRow ok = job("01J", "gong-1");
    assertThatThrownBy(
            () ->
                new JobRow(ok.jobId(), ok.owner(), ok.repoOwner(), ok.repoName(), ok.repoId(), ok.headSha(), null,
                    "tag", null, false, "main", ok.target(), ok.jobName(), null, null, null, T0, null, null))
        .hasMessageContaining("trigger must be push or pull_request, got tag");
    assertThatThrownBy(
            () ->
                new JobRow(ok.jobId(), ok.owner(), ok.repoOwner(), ok.repoName(), ok.repoId(), ok.headSha(), null,
                    "push", null, false, "main", ok.target(), ok.jobName(), null, null, null, T0, T0, "passed"))
        .hasMessageContaining("result must be success, failure or cancelled");
    assertThatThrownBy(
            () ->
                new JobRow(ok.jobId(), ok.owner(), ok.repoOwner(), ok.repoName(), ok.repoId(), ok.headSha(), null,
                    "push", null, false, "main", ok.target(), ok.jobName(), null, null, null, T0, T0, null))
        .hasMessageContaining("set together");
  }

  @Test
  void aJobWithoutDeclaredSetsOrReadScopesGetsEmptyOnes() {
    JobRow ok = job("01J", "gong-1");
    JobRow bare =
        new JobRow(ok.jobId(), ok.owner(), ok.repoOwner(), ok.repoName(), ok.repoId(), ok.headSha(), null, "push",
            null, false, "main", ok.target(), ok.jobName(), null, null, null, T0, null, null);
    assertThat(bare.declaredJson()).isEqualTo("[]");
    assertThat(bare.readScopes()).isEmpty();
    assertThat(bare.completed()).isFalse();
  }

  @Test
  void aSetWithAnUnknownWhenOrNegativeSizeIsRefused() {
    assertThatThrownBy(
            () -> SetRow.pending("s", "o", "n", "branch:main", "j", T0, "/r", "sometimes", "a", 1, "b", 1, 1, 1, "{}"))
        .hasMessageContaining("when must be success or always, got sometimes");
    assertThatThrownBy(
            () -> SetRow.pending("s", "o", "n", "branch:main", "j", T0, "/r", "always", "a", -1, "b", 1, 1, 1, "{}"))
        .hasMessageContaining("must not be negative");
  }

  @Test
  void ownerPolicyDefaultsAreHermeticTenGibibytesSevenDaysAndSuccess() {
    assertThat(OwnerPolicyRow.defaults("gong-1"))
        .isEqualTo(new OwnerPolicyRow("gong-1", "hermetic", 10737418240L, 7, "success", null));
    assertThatThrownBy(() -> new OwnerPolicyRow("gong-1", "open", 1, 1, "success", null))
        .hasMessageContaining("defaultBranchMode must be hermetic or seed, got open");
  }

  @Test
  void outboxHeadersAreCopiedAndNeverNull() {
    var headers = new java.util.HashMap<String, String>(Map.of("a", "b"));
    OutboxRow row = new OutboxRow(1, "e", "t", null, new byte[0], headers, T0, null);
    headers.put("c", "d");
    assertThat(row.headers()).containsExactly(Map.entry("a", "b"));
    assertThat(new OutboxRow(1, "e", "t", null, new byte[0], null, T0, null).headers()).isEmpty();
  }

  @Test
  void aSetFilterNeedsAPositiveLimit() {
    assertThatThrownBy(() -> SetFilter.all(0)).hasMessageContaining("limit must be positive");
    assertThat(SetFilter.all(5).withName("target").withStatus(SetStatus.LIVE))
        .isEqualTo(new SetFilter("target", null, SetStatus.LIVE, null, null, null, 5));
  }
}
