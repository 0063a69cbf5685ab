package dev.ephemera.policy;

import dev.ephemera.policy.OwnerPolicy.When;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The capture / stage / discard decisions: pure functions of the event, the owner's policy and the current heads. No
 * I/O happens here; heads are looked up through {@link HeadLookup}, which the worker backs with the catalog.
 */
public final class Decisions {
  private Decisions() {}

  /** The newest live set of (owner, name, scope), as the catalog's heads say. */
  @FunctionalInterface
  public interface HeadLookup {
    Optional<String> head(String name, Scope scope);
  }

  /** How a job ended, from {@code job.completed}. */
  public enum Result {
    SUCCESS,
    FAILURE,
    CANCELLED
  }

  /** A set the job registered that is not yet visible to anyone. */
  public record PendingSet(String setId, String name, Scope scope, When when) {
    public PendingSet {
      Objects.requireNonNull(setId, "setId");
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(scope, "scope");
      Objects.requireNonNull(when, "when");
    }
  }

  /** At {@code job.started}: stage, for each declared name, the newest live set in the first readable scope. */
  public static List<Decision> onStarted(
      JobContext job, OwnerPolicy policy, List<String> declaredNames, HeadLookup heads) {
    Access access = ScopePolicy.access(job, policy.defaultBranchMode());
    List<Decision> decisions = new ArrayList<>();
    for (String name : declaredNames.stream().distinct().toList()) {
      decisions.add(resolve(access, name, heads));
    }
    return decisions;
  }

  /** The set a job gets for {@code name}: a {@link Decision.Stage}, or an {@link Decision.Ignore} saying what was tried. */
  public static Decision resolve(Access access, String name, HeadLookup heads) {
    if (access.reads().isEmpty()) {
      return new Decision.Ignore(name, "hermetic: this job reads no persisted sets");
    }
    for (int level = 0; level < access.reads().size(); level++) {
      Scope scope = access.reads().get(level);
      Optional<String> head = heads.head(name, scope);
      if (head.isPresent()) {
        return new Decision.Stage(name, head.get(), scope, level);
      }
    }
    String tried = access.reads().stream().map(Scope::toString).collect(Collectors.joining(", "));
    return new Decision.Ignore(name, "no live set " + name + " (tried " + tried + ")");
  }

  /**
   * At {@code job.completed}: a successful job's pending sets become live; a failed job keeps only sets declared
   * {@code when = "always"}; a cancelled job keeps nothing (its environment may be half-written).
   */
  public static List<Decision> onCompleted(Result result, List<PendingSet> pending) {
    List<Decision> decisions = new ArrayList<>();
    for (PendingSet set : pending) {
      boolean keep =
          switch (result) {
            case SUCCESS -> true;
            case FAILURE -> set.when() == When.ALWAYS;
            case CANCELLED -> false;
          };
      if (keep) {
        decisions.add(new Decision.Capture(set.setId(), set.name(), set.scope()));
      } else {
        String reason = result == Result.CANCELLED ? "job cancelled" : "job failed";
        decisions.add(new Decision.Discard(set.setId(), set.name(), set.scope(), reason));
      }
    }
    return decisions;
  }
}
