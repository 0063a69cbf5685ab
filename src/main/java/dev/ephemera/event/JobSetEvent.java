package dev.ephemera.event;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * A lifecycle event about one set of one job ({@code ephemera.staged}, {@code .captured}, {@code .discarded}): about the
 * job (its CloudEvents {@code subject}) and keyed by owner on {@code ephemera.lifecycle}, so a repository's events stay
 * in order.
 */
public sealed interface JobSetEvent extends EventData permits Staged, Captured, Discarded {
  String jobId();

  String owner();

  @Override
  @JsonIgnore
  default String subject() {
    return jobId();
  }

  @Override
  @JsonIgnore
  default String key() {
    return owner();
  }

  /** The checks every such event's identifying fields pass. */
  static void check(String jobId, String owner, String name, String setId, String scope) {
    Check.ulid(jobId, "job_id");
    Check.owner(owner, "owner");
    Check.setName(name, "name");
    Check.ulid(setId, "set_id");
    Check.scope(scope, "scope");
  }
}
