package dev.ephemera.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ephemera.event.EventCodec;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class SelftestCommandTest {
  @Test
  void aGeneratedTreeIsPersistedAndRestoredInMemoryAndNothingIsLeftBehind() throws Exception {
    Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
    long before = leftovers(tmp);
    CommandLine cli = Main.commandLine("selftest");
    StringWriter out = new StringWriter();
    cli.setOut(new PrintWriter(out));
    int exit = cli.execute("selftest", "--json");

    assertThat(exit).as(out.toString()).isZero();
    JsonNode result = EventCodec.newMapper().readTree(out.toString());
    assertThat(result.get("outcome").asText()).isEqualTo("ok");
    assertThat(result.get("files").asInt()).isEqualTo(4);
    // the 3 MiB incompressible file alone spans more than one chunk (1 MiB average)
    assertThat(result.get("chunks").asInt()).isGreaterThan(2);
    assertThat(result.get("tar_sha256").asText()).matches("[0-9a-f]{64}");
    assertThat(result.get("sha256").asText()).isIn("native", "jdk");
    // persisted again after one small file changed, the 3 MiB file was not read again
    assertThat(result.get("files_cache_read").asLong()).isLessThan(result.get("files_cache_of").asLong() / 2);
    assertThat(leftovers(tmp)).isEqualTo(before);
  }

  private static long leftovers(Path tmp) throws Exception {
    try (Stream<Path> s = Files.list(tmp)) {
      return s.filter(p -> p.getFileName().toString().startsWith("ephemera-selftest-")).count();
    }
  }
}
