package dev.ephemera.event;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import com.networknt.schema.path.NodePath;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * The JSON Schemas of {@code schemas/}, loaded from the classpath (the build copies them there) and
 * compiled once. No schema is ever fetched over the network: every {@code $ref} resolves to a file
 * shipped in the jar, by its {@code $id}.
 *
 * <p>Thread-safe after construction.
 */
public final class EventSchemas {

  /** Resource holding the envelope and the shared {@code $defs}, referred to by every event schema. */
  static final String ENVELOPE_RESOURCE = "schemas/cloudevent.schema.json";
  /** Resource of the DLQ record schema. */
  public static final String DLQ_RESOURCE = "schemas/dlq.schema.json";
  /** {@code $id} of the DLQ record schema. */
  public static final String DLQ_ID = EventType.SCHEMA_BASE_URI + "dlq.v1.json";

  /**
   * One way a document breaks its schema.
   *
   * @param path where, as {@code data.sets[0].name}; empty for the document itself
   * @param message what is wrong, without the path
   */
  public record Violation(String path, String message) {
    @Override
    public String toString() {
      return (path.isEmpty() ? "(document)" : path) + ": " + message;
    }
  }

  /** Keyword under which the schemas give their own messages; other validators ignore it. */
  static final String ERROR_MESSAGE_KEYWORD = "errorMessage";

  private final Map<EventType, Schema> events = new EnumMap<>(EventType.class);
  private final Schema deadLetter;

  /** Loads and compiles every schema; fails fast if one is missing or broken. */
  public EventSchemas() {
    Map<String, String> byId = new HashMap<>();
    List<String> resources = new ArrayList<>(List.of(ENVELOPE_RESOURCE, DLQ_RESOURCE));
    for (EventType type : EventType.values()) {
      resources.add(type.schemaResource());
    }
    var reader = new com.fasterxml.jackson.databind.ObjectMapper();
    for (String resource : resources) {
      String text = readResource(resource);
      try {
        JsonNode id = reader.readTree(text).get("$id");
        if (id == null || !id.isTextual()) {
          throw new IllegalStateException(resource + " has no $id");
        }
        byId.put(id.asText(), text);
      } catch (IOException e) {
        throw new IllegalStateException(resource + " is not JSON: " + e.getMessage(), e);
      }
    }
    SchemaRegistryConfig config = SchemaRegistryConfig.builder()
        // 2020-12 makes `format` an annotation by default; we want date-time and uri checked
        .formatAssertionsEnabled(true)
        // the schemas carry readable messages for patterns ("must be a ULID ...") under this keyword
        .errorMessageKeyword(ERROR_MESSAGE_KEYWORD)
        .build();
    SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
        builder -> builder.schemaRegistryConfig(config)
            .schemas(byId)
            .schemaLoader(loader -> loader.fetchRemoteResources(false)));
    for (EventType type : EventType.values()) {
      String id = type.dataschema();
      if (!byId.containsKey(id)) {
        throw new IllegalStateException(type.schemaResource() + " must have $id " + id);
      }
      Schema schema = registry.getSchema(SchemaLocation.of(id));
      schema.initializeValidators(); // resolve every $ref now, not on the first message
      events.put(type, schema);
    }
    deadLetter = registry.getSchema(SchemaLocation.of(DLQ_ID));
    deadLetter.initializeValidators();
  }

  /** Every way {@code document} breaks the schema of {@code type}; empty when it is valid. */
  public List<Violation> validate(EventType type, JsonNode document) {
    return violations(events.get(type).validate(document));
  }

  /** Every way {@code document} breaks {@code dlq.schema.json}; empty when it is valid. */
  public List<Violation> validateDeadLetter(JsonNode document) {
    return violations(deadLetter.validate(document));
  }

  private static List<Violation> violations(List<Error> errors) {
    // an anyOf/allOf failure may report the same problem twice; keep one, in a stable order
    var unique = new LinkedHashSet<Violation>();
    for (Error error : errors) {
      unique.add(violation(error));
    }
    List<Violation> sorted = new ArrayList<>(unique);
    sorted.sort(Comparator.comparing(Violation::path).thenComparing(Violation::message));
    return List.copyOf(sorted);
  }

  private static Violation violation(Error error) {
    String path = path(error.getInstanceLocation());
    if ("required".equals(error.getKeyword()) && error.getProperty() != null) {
      return new Violation(join(path, error.getProperty()), "required property missing");
    }
    return new Violation(path, message(error));
  }

  private static String message(Error error) {
    String message = error.getMessage();
    // messages start with the instance location ("$.data.owner: ..."); we print our own path
    String location = error.getInstanceLocation() == null ? null : error.getInstanceLocation().toString();
    if (location != null && message.startsWith(location + ": ")) {
      message = message.substring(location.length() + 2);
    }
    return message;
  }

  private static String path(NodePath location) {
    if (location == null) {
      return "";
    }
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < location.getNameCount(); i++) {
      Object element = location.getElement(i);
      if (element instanceof Integer index) {
        out.append('[').append(index).append(']');
      } else {
        if (out.length() > 0) {
          out.append('.');
        }
        out.append(element);
      }
    }
    return out.toString();
  }

  private static String join(String path, String property) {
    return path.isEmpty() ? property : path + "." + property;
  }

  private static String readResource(String resource) {
    ClassLoader loader = EventSchemas.class.getClassLoader();
    try (InputStream in = loader.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("schema " + resource + " is not on the classpath");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + resource, e);
    }
  }
}
