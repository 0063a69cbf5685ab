package dev.ephemera.event;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * The {@code data} of a {@link CloudEvent}: one record per {@link EventType}. Records validate in their
 * compact constructors, so holding one means holding a well-formed event body.
 *
 * <p>Java names are camelCase; on the wire they are snake_case ({@link EventCodec}).
 */
public sealed interface EventData
    permits JobEvent, JobSetEvent, OwnerEvent, Gc, Used {

  /** The event type this data belongs to. */
  @JsonIgnore
  EventType type();

  /**
   * The CloudEvents {@code subject} this data is about: the job id where there is one, else the owner
   * ({@code *} for a GC of every owner).
   */
  @JsonIgnore
  String subject();

  /**
   * The Kafka record key of DESIGN.md §4: the owner on {@code buildomat.jobs}, {@code ephemera.control}
   * and {@code ephemera.lifecycle} (one repository's events stay ordered on one partition), the job id
   * on {@code ephemera.used}; {@code *} for a GC of every owner.
   */
  @JsonIgnore
  String key();
}
