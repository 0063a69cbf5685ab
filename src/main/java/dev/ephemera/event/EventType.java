package dev.ephemera.event;

import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Every CloudEvents {@code type} Ephemera reads or writes, with its data record, JSON Schema and topic.
 *
 * <p>A schema's {@code $id} is its {@code dataschema} URI; an incompatible change to an event is a new
 * type (and a new {@code .v2} schema), never an edit of this one.
 */
public enum EventType {
  JOB_STARTED("job.started", JobStarted.class, Topics.BUILDOMAT_JOBS),
  JOB_COMPLETED("job.completed", JobCompleted.class, Topics.BUILDOMAT_JOBS),
  INVALIDATE("ephemera.invalidate", Invalidate.class, Topics.CONTROL),
  GC("ephemera.gc", Gc.class, Topics.CONTROL),
  USED("ephemera.used", Used.class, Topics.USED),
  STAGED("ephemera.staged", Staged.class, Topics.LIFECYCLE),
  CAPTURED("ephemera.captured", Captured.class, Topics.LIFECYCLE),
  DISCARDED("ephemera.discarded", Discarded.class, Topics.LIFECYCLE),
  INVALIDATED("ephemera.invalidated", Invalidated.class, Topics.LIFECYCLE),
  EVICTED("ephemera.evicted", Evicted.class, Topics.LIFECYCLE);

  /** Base of every schema {@code $id}; schema files are resolved offline, never fetched from here. */
  public static final String SCHEMA_BASE_URI = "https://ephemera.dev/schemas/";

  private static final Map<String, EventType> BY_TYPE =
      Arrays.stream(values()).collect(Collectors.toUnmodifiableMap(EventType::type, Function.identity()));

  private final String type;
  private final Class<? extends EventData> dataClass;
  private final String topic;

  EventType(String type, Class<? extends EventData> dataClass, String topic) {
    this.type = type;
    this.dataClass = dataClass;
    this.topic = topic;
  }

  /** The CloudEvents {@code type} string, e.g. {@code job.started}. */
  public String type() {
    return type;
  }

  /** The record {@code data} maps to. */
  public Class<? extends EventData> dataClass() {
    return dataClass;
  }

  /** Classpath resource of the JSON Schema, e.g. {@code schemas/job.started.schema.json}. */
  public String schemaResource() {
    return "schemas/" + type + ".schema.json";
  }

  /** The {@code dataschema} URI, equal to the schema's {@code $id}. */
  public String dataschema() {
    return SCHEMA_BASE_URI + type + ".v1.json";
  }

  /** The Kafka topic this event travels on ({@link Topics}). */
  public String topic() {
    return topic;
  }

  /** The constant for a CloudEvents type string, if Ephemera knows it. */
  public static Optional<EventType> fromType(String type) {
    return Optional.ofNullable(type == null ? null : BY_TYPE.get(type));
  }

  @Override
  public String toString() {
    return type;
  }
}
