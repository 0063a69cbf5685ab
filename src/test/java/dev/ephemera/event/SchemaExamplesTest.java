package dev.ephemera.event;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ephemera.event.EventSchemas.Violation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every example under {@code schemas/examples/} against the schemas the codec loads from the classpath. */
class SchemaExamplesTest {

  private static final EventSchemas SCHEMAS = new EventSchemas();

  static Stream<Examples.Example> validExamples() {
    return Examples.valid();
  }

  static Stream<Examples.Example> invalidExamples() {
    return Examples.invalid();
  }

  private static List<Violation> validate(Examples.Example example) {
    return example.isDeadLetter()
        ? SCHEMAS.validateDeadLetter(example.tree())
        : SCHEMAS.validate(example.eventType(), example.tree());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("validExamples")
  void validExamplePassesItsSchema(Examples.Example example) {
    assertThat(validate(example)).as(example.name()).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalidExamples")
  void invalidExampleFailsForItsStatedReason(Examples.Example example) {
    String expected = example.expectedError();
    assertThat(expected).as("stated reason of " + example.name()).isNotBlank();
    List<String> messages = validate(example).stream().map(Violation::toString).toList();
    assertThat(messages).as(example.name() + " violations").isNotEmpty();
    assertThat(messages).as(example.name() + " must fail for: " + expected)
        .anySatisfy(message -> assertThat(message).contains(expected));
  }

  @Test
  void everyEventTypeAndTheDeadLetterHaveAtLeastTwoValidAndTwoInvalidExamples() {
    Map<String, Long> valid = Examples.valid().collect(
        Collectors.groupingBy(Examples.Example::type, Collectors.counting()));
    Map<String, Long> invalid = Examples.invalid().collect(
        Collectors.groupingBy(Examples.Example::type, Collectors.counting()));
    List<String> types = new ArrayList<>(Stream.of(EventType.values()).map(EventType::type).toList());
    types.add(Examples.DLQ);
    for (String type : types) {
      assertThat(valid.getOrDefault(type, 0L)).as("valid examples of " + type).isGreaterThanOrEqualTo(2);
      assertThat(invalid.getOrDefault(type, 0L)).as("invalid examples of " + type).isGreaterThanOrEqualTo(2);
    }
    assertThat(valid.keySet()).as("example directories").isSubsetOf(types);
    assertThat(invalid.keySet()).as("example directories").isSubsetOf(types);
  }

  @Test
  void everyInvalidExampleHasAnExpectFileAndEveryExpectFileAnExample() throws IOException {
    for (Examples.Example example : Examples.invalid().toList()) {
      assertThat(example.expectFile()).as("reason file of " + example.name()).isRegularFile();
    }
    try (Stream<Path> files = Files.walk(Examples.ROOT)) {
      List<Path> orphans = files.filter(f -> f.toString().endsWith(".expect"))
          .filter(f -> !Files.exists(f.resolveSibling(
              f.getFileName().toString().replaceFirst("\\.expect$", ".json"))))
          .toList();
      assertThat(orphans).as(".expect files without an example").isEmpty();
    }
  }

  @Test
  void validExamplesOfAnEventDeclareTheirDirectorysTypeAndDataschema() {
    for (Examples.Example example : Examples.valid().filter(e -> !e.isDeadLetter()).toList()) {
      assertThat(example.tree().path("type").asText()).as(example.name()).isEqualTo(example.type());
      assertThat(example.tree().path("dataschema").asText()).as(example.name())
          .isEqualTo(example.eventType().dataschema());
    }
  }

  @Test
  void everySchemaFileIdIsItsTypesDataschemaUri() throws IOException {
    Map<String, EventType> byResource = Stream.of(EventType.values())
        .collect(Collectors.toMap(EventType::schemaResource, Function.identity()));
    for (var entry : byResource.entrySet()) {
      Path file = Path.of(System.getProperty("basedir", "."), entry.getKey());
      var tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree(file.toFile());
      assertThat(tree.path("$id").asText()).as(file.toString()).isEqualTo(entry.getValue().dataschema());
      assertThat(tree.path("$schema").asText()).as(file.toString())
          .isEqualTo("https://json-schema.org/draft/2020-12/schema");
    }
  }
}
