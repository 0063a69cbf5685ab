package dev.ephemera.policy;

import dev.ephemera.policy.OwnerPolicy.DefaultBranchMode;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;

/**
 * The trust table of DESIGN.md §5: which scopes a job reads (in order) and which one it writes.
 *
 * <table>
 *   <tr><th>job</th><th>reads</th><th>writes</th></tr>
 *   <tr><td>push to the default branch</td><td>nothing</td><td>nothing; {@code seed}: {@code branch:<default>}</td></tr>
 *   <tr><td>push to branch b</td><td>{@code branch:b}, {@code branch:<default>}</td><td>{@code branch:b}</td></tr>
 *   <tr><td>same-repository pull request</td><td>{@code pr:n}, {@code branch:<head>}, {@code branch:<default>}</td>
 *       <td>{@code pr:n} (no number: {@code branch:<head>})</td></tr>
 *   <tr><td>fork pull request</td><td>{@code pr:n}, {@code branch:<default>}</td>
 *       <td>{@code pr:n} (no number: nothing)</td></tr>
 * </table>
 *
 * <p>The invariants the table exists for: nothing a pull request writes is read by a default-branch job (those read
 * nothing), and a fork can only write a scope that only its own pull request reads.
 */
public final class ScopePolicy {
  private ScopePolicy() {}

  public static Access access(JobContext job, DefaultBranchMode mode) {
    Scope defaultScope = Scope.branch(job.defaultBranch());
    if (job.trigger() == JobContext.Trigger.PUSH) {
      if (job.headBranch() == null) {
        // A push always names its branch; without one there is nothing safe to infer.
        return Access.NOTHING;
      }
      if (job.isDefaultBranchPush()) {
        return mode == DefaultBranchMode.SEED ? new Access(List.of(), Optional.of(defaultScope)) : Access.NOTHING;
      }
      Scope own = Scope.branch(job.headBranch());
      return new Access(List.of(own, defaultScope), Optional.of(own));
    }
    Optional<Scope> pr = Optional.ofNullable(job.pullRequest()).map(Scope::pullRequest);
    LinkedHashSet<Scope> reads = new LinkedHashSet<>();
    pr.ifPresent(reads::add);
    Optional<Scope> write;
    if (job.fork()) {
      write = pr;
    } else {
      Optional<Scope> head = Optional.ofNullable(job.headBranch()).map(Scope::branch);
      // A same-repository PR whose head is the default branch must not write the default scope.
      head = head.filter(h -> !h.equals(defaultScope));
      head.ifPresent(reads::add);
      write = pr.isPresent() ? pr : head;
    }
    reads.add(defaultScope);
    return new Access(new ArrayList<>(reads), write);
  }
}
