package dev.ephemera.cli;

import dev.ephemera.archive.Restorer;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ephemera unpack ARCHIVE_OR_URL DIR}: how a person reproduces a past job's environment from the link in its
 * report. The archive is unpacked with the same safety checks as a restore; its tar sha256 is printed and, when the
 * download link or {@code --expect-sha256} says what it should be, compared. This is a person's command, not a job's:
 * it fails (exit 3) on any error.
 */
@Command(
    name = "unpack",
    mixinStandardHelpOptions = true,
    description = "Unpack a set's .tar.zst (a file or its download link) into DIR, safely, and check its sha256.")
public final class UnpackCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "ARCHIVE_OR_URL") String source;

  @Parameters(index = "1", paramLabel = "DIR") Path dir;

  @Option(names = "--expect-sha256", paramLabel = "SHA256", description = "The tar sha256 the archive must have.")
  String expected;

  @Option(names = "--json", description = "Print one JSON object instead of text.")
  boolean json;

  @Mixin LimitOptions limits;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    long start = System.nanoTime();
    Optional<String> fromServer = Optional.empty();
    Restorer.Result result;
    if (source.startsWith("http://") || source.startsWith("https://")) {
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
      HttpResponse<InputStream> response =
          http.send(HttpRequest.newBuilder(URI.create(source)).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
      if (response.statusCode() != 200) {
        String body;
        try (InputStream in = response.body()) {
          body = new String(in.readNBytes(4096), java.nio.charset.StandardCharsets.UTF_8);
        }
        throw new CliFailure(
            CliFailure.Kind.CHECK, "unpack: " + source + " answered " + response.statusCode() + ": " + body);
      }
      fromServer = response.headers().firstValue("X-Ephemera-Tar-Sha256");
      try (InputStream in = new BufferedInputStream(response.body(), 1 << 20)) {
        result = Restorer.unpack(in, dir, limits.limits());
      }
    } else {
      Path file = Path.of(source);
      if (!Files.isRegularFile(file)) {
        throw new CliFailure(CliFailure.Kind.CHECK, "unpack: no such file: " + file);
      }
      try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 20)) {
        result = Restorer.unpack(in, dir, limits.limits());
      }
    }
    String want = expected != null ? expected : fromServer.orElse(null);
    if (want != null && !want.equals(result.tarSha256())) {
      throw new CliFailure(
          CliFailure.Kind.CHECK,
          "unpack: the archive's tar sha256 is " + result.tarSha256() + " but " + want + " was expected; "
              + dir + " holds what it contained");
    }
    long took = System.nanoTime() - start;
    result.warnings().forEach(w -> spec.commandLine().getErr().println("unpack: warning: " + w));
    String human =
        String.format(
            "unpack: %d entries, %s into %s in %s; tar sha256 %s%s",
            result.entries(),
            Output.bytes(result.tarSize()),
            dir.toAbsolutePath(),
            Output.seconds(took),
            result.tarSha256(),
            want == null ? " (nothing to compare it with: pass --expect-sha256)" : " (verified)");
    Map<String, Object> machine = new LinkedHashMap<>();
    machine.put("command", "unpack");
    machine.put("outcome", "unpacked");
    machine.put("dir", dir.toAbsolutePath().toString());
    machine.put("entries", result.entries());
    machine.put("tar_size", result.tarSize());
    machine.put("tar_sha256", result.tarSha256());
    machine.put("verified", want != null);
    machine.put("seconds", Output.secondsValue(took));
    Output.result(out, json, human, machine);
    return 0;
  }
}
