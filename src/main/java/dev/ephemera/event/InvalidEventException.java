package dev.ephemera.event;

/**
 * A message is not a valid Ephemera event: not JSON, too large, an unknown {@code type}, or a schema
 * or record violation. The message names the offending field ({@code data.owner: required property
 * missing}); the worker sends the original bytes to the DLQ with it.
 *
 * <p>Checked on purpose: every consumer must decide what a poison message does to its loop.
 */
public final class InvalidEventException extends Exception {

  private static final long serialVersionUID = 1L;

  private final String eventId;
  private final String eventType;

  public InvalidEventException(String message, String eventId, String eventType) {
    super(message);
    this.eventId = eventId;
    this.eventType = eventType;
  }

  InvalidEventException(String message, String eventId, String eventType, Throwable cause) {
    super(message, cause);
    this.eventId = eventId;
    this.eventType = eventType;
  }

  /** The document's {@code id}, when it had a string one (for the DLQ record); else null. */
  public String eventId() {
    return eventId;
  }

  /** The document's {@code type}, when it had a string one (for the DLQ record); else null. */
  public String eventType() {
    return eventType;
  }
}
