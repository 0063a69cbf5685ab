package dev.ephemera.event;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Bytes ↔ {@link CloudEvent}, structured-mode CloudEvents JSON ({@value #CONTENT_TYPE}).
 *
 * <p>Decoding checks, in order: size ({@value #MAX_EVENT_BYTES} bytes at most), JSON syntax (duplicate
 * keys rejected), a known {@code type}, the whole document against that type's JSON Schema, and only then
 * maps to records (whose constructors add the checks a schema cannot express). Every failure is an
 * {@link InvalidEventException} whose message names the field. Unknown fields are ignored everywhere, so
 * producers can add fields compatibly.
 *
 * <p>Encoding writes snake_case names, RFC 3339 times, and omits absent (null) fields; it validates its
 * own output against the schema, so a producer bug fails where it happens rather than in every consumer.
 *
 * <p>Thread-safe; build one and share it (construction compiles the schemas).
 */
public final class EventCodec {

  /** Kafka {@code content-type} header value of events. */
  public static final String CONTENT_TYPE = "application/cloudevents+json";
  /** Kafka {@code content-type} header value of DLQ records. */
  public static final String DLQ_CONTENT_TYPE = "application/json";
  /** Largest event accepted or produced: 1 MiB, Kafka's default message size limit. */
  public static final int MAX_EVENT_BYTES = 1024 * 1024;

  private static final int MAX_REPORTED_VIOLATIONS = 10;

  private final ObjectMapper mapper;
  private final EventSchemas schemas;

  /** A codec with the schemas shipped on the classpath. */
  public EventCodec() {
    this(new EventSchemas());
  }

  /** A codec validating against {@code schemas}. */
  public EventCodec(EventSchemas schemas) {
    this.schemas = schemas;
    this.mapper = newMapper();
  }

  /**
   * The JSON mapping Ephemera's events use: snake_case, java.time as RFC 3339 strings, nulls omitted,
   * unknown properties ignored, duplicate keys rejected. For code that stores event data as JSON (e.g. the
   * outbox) and must agree with the wire format.
   */
  public static ObjectMapper newMapper() {
    return JsonMapper.builder()
        .addModule(new JavaTimeModule())
        .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
        .defaultPropertyInclusion(JsonInclude.Value.construct(JsonInclude.Include.NON_NULL, JsonInclude.Include.NON_NULL))
        .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
        .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .build();
  }

  /** The schemas this codec validates against. */
  public EventSchemas schemas() {
    return schemas;
  }

  /**
   * The event as UTF-8 JSON.
   *
   * @throws IllegalArgumentException if the result would break its schema or exceed {@value #MAX_EVENT_BYTES}
   *     bytes (a bug in the producer: records already validate their fields)
   */
  public byte[] encode(CloudEvent event) {
    ObjectNode tree = toTree(event);
    List<EventSchemas.Violation> violations = schemas.validate(event.type(), tree);
    if (!violations.isEmpty()) {
      throw new IllegalArgumentException(
          "refusing to encode an invalid " + event.type() + " event: " + describe(violations));
    }
    byte[] bytes = write(tree);
    if (bytes.length > MAX_EVENT_BYTES) {
      throw new IllegalArgumentException(event.type() + " event " + event.id() + " is " + bytes.length
          + " bytes, more than the " + MAX_EVENT_BYTES + "-byte limit");
    }
    return bytes;
  }

  /** The event as a JSON tree (what {@link #encode(CloudEvent)} writes), fields in CloudEvents order. */
  public ObjectNode toTree(CloudEvent event) {
    ObjectNode tree = mapper.createObjectNode();
    tree.put("specversion", event.specversion());
    tree.put("id", event.id());
    tree.put("source", event.source());
    tree.put("type", event.type().type());
    tree.put("time", event.time().toString());
    tree.put("subject", event.subject());
    tree.put("dataschema", event.dataschema());
    tree.set("data", mapper.valueToTree(event.data()));
    return tree;
  }

  /**
   * Parses, validates and maps an event.
   *
   * @throws InvalidEventException naming the field at fault, e.g. {@code data.owner: required property
   *     missing}, {@code unknown event type "job.startd"}, {@code not JSON: ...}
   */
  public CloudEvent decode(byte[] bytes) throws InvalidEventException {
    JsonNode tree = parse(bytes, "event");
    String id = textOrNull(tree.get("id"));
    JsonNode typeNode = tree.get("type");
    if (typeNode == null || typeNode.isNull()) {
      throw new InvalidEventException("type: required property missing", id, null);
    }
    if (!typeNode.isTextual()) {
      throw new InvalidEventException("type: must be a string, was " + kind(typeNode), id, null);
    }
    String typeName = typeNode.asText();
    EventType type = EventType.fromType(typeName).orElseThrow(() -> new InvalidEventException(
        "unknown event type " + quote(typeName) + " (known: " + knownTypes() + ")", id, typeName));
    return decode(type, tree, id);
  }

  /**
   * Maps a parsed document already known to be of {@code type}. Validates it first; for callers (and
   * tests) that hold a tree.
   */
  public CloudEvent decode(EventType type, JsonNode tree, String idForErrors) throws InvalidEventException {
    List<EventSchemas.Violation> violations = schemas.validate(type, tree);
    if (!violations.isEmpty()) {
      throw new InvalidEventException(describe(violations), idForErrors, type.type());
    }
    EventData data;
    try {
      data = mapper.treeToValue(tree.get("data"), type.dataClass());
    } catch (JsonProcessingException | IllegalArgumentException e) {
      throw new InvalidEventException(mappingMessage("data", e), idForErrors, type.type(), e);
    }
    try {
      return new CloudEvent(
          tree.get("id").asText(),
          tree.get("source").asText(),
          type,
          parseTime(tree.get("time").asText()),
          tree.get("subject").asText(),
          tree.get("dataschema").asText(),
          data);
    } catch (IllegalArgumentException e) {
      throw new InvalidEventException(e.getMessage(), idForErrors, type.type(), e);
    }
  }

  /** A dead letter as UTF-8 JSON ({@code schemas/dlq.schema.json}). */
  public byte[] encode(DeadLetter deadLetter) {
    JsonNode tree = mapper.valueToTree(deadLetter);
    List<EventSchemas.Violation> violations = schemas.validateDeadLetter(tree);
    if (!violations.isEmpty()) {
      throw new IllegalArgumentException("refusing to encode an invalid dead letter: " + describe(violations));
    }
    return write(tree);
  }

  /** Parses and validates a dead letter (for tools that read the DLQ, e.g. a replay command). */
  public DeadLetter decodeDeadLetter(byte[] bytes) throws InvalidEventException {
    // a dead letter holds at most 512 KiB of original bytes as base64, so the event limit fits it too
    JsonNode tree = parse(bytes, "dead letter");
    List<EventSchemas.Violation> violations = schemas.validateDeadLetter(tree);
    if (!violations.isEmpty()) {
      throw new InvalidEventException(describe(violations), null, null);
    }
    try {
      return mapper.treeToValue(tree, DeadLetter.class);
    } catch (JsonProcessingException | IllegalArgumentException e) {
      throw new InvalidEventException(mappingMessage("", e), null, null, e);
    }
  }

  private JsonNode parse(byte[] bytes, String what) throws InvalidEventException {
    if (bytes == null || bytes.length == 0) {
      throw new InvalidEventException("not JSON: the " + what + " is empty", null, null);
    }
    if (bytes.length > MAX_EVENT_BYTES) {
      throw new InvalidEventException("the " + what + " is " + bytes.length + " bytes, more than the "
          + MAX_EVENT_BYTES + "-byte limit", null, null);
    }
    JsonNode tree;
    try {
      tree = mapper.readTree(bytes);
    } catch (JsonProcessingException e) {
      throw new InvalidEventException("not JSON: " + e.getOriginalMessage() + location(e), null, null, e);
    } catch (IOException e) {
      throw new InvalidEventException("not JSON: " + e.getMessage(), null, null, e);
    }
    if (tree == null || tree.isMissingNode()) {
      throw new InvalidEventException("not JSON: the " + what + " is blank", null, null);
    }
    if (!tree.isObject()) {
      throw new InvalidEventException("not a JSON object: the " + what + " is " + kind(tree), null, null);
    }
    return tree;
  }

  private byte[] write(JsonNode tree) {
    try {
      return mapper.writeValueAsBytes(tree);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON", e); // a tree always serialises
    }
  }

  private static Instant parseTime(String text) {
    try {
      return OffsetDateTime.parse(text).toInstant();
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("time: not an RFC 3339 timestamp: " + quote(text), e);
    }
  }

  private static String mappingMessage(String root, Exception e) {
    // A compact constructor's IllegalArgumentException names its field relative to its own record
    // ("created_before: ..."); Jackson knows where in the document that record sits ("selector").
    String at = e instanceof JsonMappingException mapping ? root + path(mapping) : root;
    Throwable cause = e instanceof ValueInstantiationException && e.getCause() != null ? e.getCause() : e;
    if (cause instanceof IllegalArgumentException) {
      return prefix(at, cause.getMessage());
    }
    if (e instanceof JsonMappingException mapping) {
      return (at.isEmpty() ? "(document)" : at) + ": " + mapping.getOriginalMessage();
    }
    return prefix(at, e.getMessage());
  }

  private static String path(JsonMappingException e) {
    StringBuilder out = new StringBuilder();
    for (JsonMappingException.Reference ref : e.getPath()) {
      if (ref.getFieldName() != null) {
        out.append('.').append(ref.getFieldName());
      } else if (ref.getIndex() >= 0) {
        out.append('[').append(ref.getIndex()).append(']');
      }
    }
    return out.toString();
  }

  private static String prefix(String at, String message) {
    String where = at.startsWith(".") ? at.substring(1) : at;
    return where.isEmpty() ? message : where + "." + message;
  }

  private static String location(JsonProcessingException e) {
    return e.getLocation() == null ? ""
        : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
  }

  private static String describe(List<EventSchemas.Violation> violations) {
    String shown = violations.stream().limit(MAX_REPORTED_VIOLATIONS)
        .map(EventSchemas.Violation::toString).collect(Collectors.joining("; "));
    int more = violations.size() - MAX_REPORTED_VIOLATIONS;
    return more > 0 ? shown + "; and " + more + " more" : shown;
  }

  private static String knownTypes() {
    return java.util.Arrays.stream(EventType.values()).map(EventType::type).collect(Collectors.joining(", "));
  }

  private static String textOrNull(JsonNode node) {
    return node != null && node.isTextual() ? node.asText() : null;
  }

  private static String kind(JsonNode node) {
    return node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
  }

  private static String quote(String s) {
    String shown = s.length() > 64 ? s.substring(0, 64) + "..." : s;
    return '"' + shown.replace("\"", "\\\"") + '"';
  }
}
