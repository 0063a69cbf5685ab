package dev.ephemera.event;

import com.fasterxml.jackson.annotation.JsonIgnore;

/** {@code job.started} or {@code job.completed}: both carry the whole {@link JobInfo}. */
public sealed interface JobEvent extends EventData permits JobStarted, JobCompleted {

  /** The job's identity, origin and declared sets, shared by both events. */
  @JsonIgnore
  JobInfo job();

  @Override
  default String subject() {
    return job().jobId();
  }

  @Override
  default String key() {
    return job().owner();
  }
}
