package dev.ephemera.event;

import java.time.Instant;
import java.util.Objects;

/**
 * A CloudEvents 1.0 event in structured JSON mode (DESIGN.md §4). {@code specversion} is always
 * {@value #SPECVERSION}; {@code datacontenttype} is implied ({@code application/json}).
 *
 * @param id a ULID, unique per event: consumers record it to apply each event once
 * @param source URI reference of the producer, e.g. {@code /buildomat/github} or {@code /ephemera/worker}
 * @param time when it happened (RFC 3339 on the wire)
 * @param subject the job id, or the owner for events that are not about one job ({@link EventData#subject()})
 * @param dataschema always {@link EventType#dataschema()} of {@code type}
 */
public record CloudEvent(
    String id,
    String source,
    EventType type,
    Instant time,
    String subject,
    String dataschema,
    EventData data) {

  /** The CloudEvents version Ephemera speaks. */
  public static final String SPECVERSION = "1.0";

  public CloudEvent {
    Check.ulid(id, "id");
    Check.uriReference(source, "source");
    Check.present(type, "type");
    Check.present(time, "time");
    Check.text(subject, "subject");
    Check.present(dataschema, "dataschema");
    Check.present(data, "data");
    if (!dataschema.equals(type.dataschema())) {
      throw new IllegalArgumentException(
          "dataschema: must be " + type.dataschema() + " for " + type + ", was " + dataschema);
    }
    if (data.type() != type) {
      throw new IllegalArgumentException(
          "data: " + data.getClass().getSimpleName() + " is the data of " + data.type() + ", not " + type);
    }
  }

  /**
   * A new event: a fresh ULID id, {@code time} equal to the id's timestamp, the type and dataschema of
   * {@code data}.
   */
  public static CloudEvent of(String source, String subject, EventData data) {
    Objects.requireNonNull(data, "data");
    String id = Ulid.next();
    return new CloudEvent(id, source, data.type(), Ulid.timestamp(id), subject, data.type().dataschema(), data);
  }

  /** {@link #of(String, String, EventData)} with the data's natural subject ({@link EventData#subject()}). */
  public static CloudEvent of(String source, EventData data) {
    Objects.requireNonNull(data, "data");
    return of(source, data.subject(), data);
  }

  /** Always {@value #SPECVERSION}. */
  public String specversion() {
    return SPECVERSION;
  }

  /** The topic this event is published on. */
  public String topic() {
    return type.topic();
  }

  /** The Kafka record key this event is published with ({@link EventData#key()}). */
  public String key() {
    return data.key();
  }
}
