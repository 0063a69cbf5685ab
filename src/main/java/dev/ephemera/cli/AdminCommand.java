package dev.ephemera.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.EventCodec;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code ephemera admin ...}: what operators and buildomat's server do. */
@Command(
    name = "admin",
    mixinStandardHelpOptions = true,
    description =
        "Administration: job tokens, owner policy, sets and jobs, invalidation, replay, GC; publish and watch events.",
    subcommands = {
      AdminCommand.Token.class,
      AdminPolicy.class,
      AdminSets.class,
      AdminJobs.class,
      AdminJobs.Report.class,
      AdminInvalidate.class,
      AdminReplay.class,
      AdminInvalidate.GcCommand.class,
      AdminCommand.Publish.class,
      AdminEmit.class,
      AdminWatch.class
    })
public final class AdminCommand {

  /** Options every admin call that uses the HTTP API shares. */
  static final class AdminApi {
    @Option(names = "--url", paramLabel = "URL", description = "Ephemera API URL (default: $EPHEMERA_URL).")
    String url;

    @Option(names = "--admin-token", paramLabel = "TOKEN", description = "Admin token (default: $EPHEMERA_ADMIN_TOKEN).")
    String token;

    URI url() {
      String v = url;
      if (v == null || v.isBlank()) {
        throw new CliFailure(CliFailure.Kind.CHECK, "no Ephemera URL: set EPHEMERA_URL or pass --url");
      }
      return URI.create(v.endsWith("/") ? v.substring(0, v.length() - 1) : v);
    }

    String token() {
      String v = token;
      if (v == null || v.isBlank()) {
        throw new CliFailure(CliFailure.Kind.CHECK, "no admin token: set EPHEMERA_ADMIN_TOKEN or pass --admin-token");
      }
      return v;
    }
  }

  /** {@code ephemera admin token JOB}: a job token, as buildomat asks for one when it starts a job. */
  @Command(name = "token", mixinStandardHelpOptions = true, description = "Mint a job token (prints it on stdout).")
  static final class Token implements Callable<Integer> {
    @Spec CommandSpec spec;

    @picocli.CommandLine.Mixin AdminApiMixin api;

    @Parameters(index = "0", paramLabel = "JOB", description = "buildomat job id.") String job;

    @Option(names = "--ttl", paramLabel = "DURATION", description = "Lifetime (default: the worker's auth.job-token-ttl).")
    String ttl;

    @Override
    public Integer call() throws Exception {
      ObjectMapper json = EventCodec.newMapper();
      Map<String, Object> body =
          ttl == null
              ? Map.of("job_id", job)
              : Map.of("job_id", job, "ttl_seconds", dev.ephemera.config.Settings.parseDuration("--ttl", ttl).toSeconds());
      HttpResponse<String> response =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(api.options.url().resolve("/v1/admin/tokens"))
                      .timeout(Duration.ofSeconds(30))
                      .header("Authorization", "Bearer " + api.options.token())
                      .header("Content-Type", "application/json")
                      .POST(HttpRequest.BodyPublishers.ofByteArray(json.writeValueAsBytes(body)))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 201) {
        throw new CliFailure(CliFailure.Kind.CHECK, "admin token: " + response.statusCode() + " " + response.body());
      }
      JsonNode node = json.readTree(response.body());
      spec.commandLine().getOut().println(node.get("token").asText());
      spec.commandLine().getOut().flush();
      return 0;
    }
  }

  /** Mixin wrapper so picocli can reuse {@link AdminApi}. */
  static final class AdminApiMixin {
    @picocli.CommandLine.ArgGroup(exclusive = false)
    AdminApi options = new AdminApi();
  }

  /**
   * {@code ephemera admin publish FILE...}: validate CloudEvents JSON files and publish each to its topic, keyed as
   * DESIGN.md §4 says. How a person (or {@code make demo}) plays buildomat's part.
   */
  @Command(
      name = "publish",
      mixinStandardHelpOptions = true,
      description = "Validate event files (CloudEvents JSON) and publish each to its topic with its key.")
  static final class Publish implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
        names = "--bootstrap",
        paramLabel = "SERVERS",
        description = "Kafka bootstrap servers (default: $EPHEMERA_KAFKA_BOOTSTRAP or localhost:9092).")
    String bootstrap;

    @Parameters(paramLabel = "FILE", arity = "1..*") java.util.List<Path> files;

    @Override
    public Integer call() throws Exception {
      EventCodec codec = new EventCodec();
      String servers = bootstrap != null ? bootstrap : "localhost:9092";
      try (EventPublisher publisher = new EventPublisher(servers)) {
        for (Path file : files) {
          byte[] bytes = Files.readAllBytes(file);
          CloudEvent event;
          try {
            event = codec.decode(bytes);
          } catch (dev.ephemera.event.InvalidEventException e) {
            throw new CliFailure(CliFailure.Kind.CHECK, "publish: " + file + ": " + e.getMessage());
          }
          var meta = publisher.send(event, bytes);
          spec.commandLine()
              .getOut()
              .printf(
                  "published %s %s to %s-%d@%d%n",
                  event.type().type(), event.id(), meta.topic(), meta.partition(), meta.offset());
        }
      }
      spec.commandLine().getOut().flush();
      return 0;
    }
  }
}
