package dev.ephemera.event;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The example documents under {@code schemas/examples/} (see {@code schemas/README.md}):
 * {@code <type>/valid/*.json} must pass; {@code <type>/invalid/X.json} must fail, and {@code X.expect}
 * holds a substring the failure message must contain. {@code <type>} is an event type or {@code dlq}.
 */
final class Examples {

  static final Path ROOT = Path.of(System.getProperty("basedir", "."), "schemas", "examples");
  static final String DLQ = "dlq";

  /** One example file. */
  record Example(String type, boolean valid, Path file) {
    String name() {
      return type + "/" + (valid ? "valid" : "invalid") + "/" + file.getFileName();
    }

    byte[] bytes() {
      try {
        return Files.readAllBytes(file);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    JsonNode tree() {
      try {
        return new ObjectMapper().readTree(bytes());
      } catch (IOException e) {
        throw new UncheckedIOException(file + " is not JSON", e);
      }
    }

    /** The stated reason an invalid example must fail: the trimmed content of its {@code .expect} file. */
    String expectedError() {
      Path expect = expectFile();
      try {
        return Files.readString(expect, StandardCharsets.UTF_8).strip();
      } catch (IOException e) {
        throw new UncheckedIOException(file + " has no readable " + expect.getFileName(), e);
      }
    }

    Path expectFile() {
      String name = file.getFileName().toString();
      return file.resolveSibling(name.substring(0, name.length() - ".json".length()) + ".expect");
    }

    boolean isDeadLetter() {
      return DLQ.equals(type);
    }

    EventType eventType() {
      return EventType.fromType(type).orElseThrow(() -> new AssertionError("unknown type directory " + type));
    }

    @Override
    public String toString() {
      return name();
    }
  }

  private Examples() {}

  static List<Example> all() {
    try (Stream<Path> types = Files.list(ROOT)) {
      return types.filter(Files::isDirectory).sorted().flatMap(dir -> Stream.concat(
          list(dir, true), list(dir, false))).toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + ROOT.toAbsolutePath(), e);
    }
  }

  static Stream<Example> valid() {
    return all().stream().filter(Example::valid);
  }

  static Stream<Example> invalid() {
    return all().stream().filter(e -> !e.valid());
  }

  private static Stream<Example> list(Path typeDir, boolean valid) {
    Path dir = typeDir.resolve(valid ? "valid" : "invalid");
    if (!Files.isDirectory(dir)) {
      return Stream.empty();
    }
    try (Stream<Path> files = Files.list(dir)) {
      String type = typeDir.getFileName().toString();
      return files.filter(f -> f.getFileName().toString().endsWith(".json")).sorted()
          .map(f -> new Example(type, valid, f)).toList().stream();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
