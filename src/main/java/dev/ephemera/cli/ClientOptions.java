package dev.ephemera.cli;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Option;

/** How a job-side command reaches the worker, and how it reports. Flags win over the environment. */
public final class ClientOptions {
  @Option(
      names = "--url",
      paramLabel = "URL",
      description = "Ephemera API URL (default: $EPHEMERA_URL).")
  String url;

  @Option(
      names = "--token",
      paramLabel = "TOKEN",
      description = "Job token (default: $EPHEMERA_TOKEN).")
  String token;

  @Option(
      names = "--job",
      paramLabel = "JOB",
      description = "buildomat job id (default: $BUILDOMAT_JOB_ID).")
  String job;

  @Option(names = "--json", description = "Print one JSON object instead of text.")
  boolean json;

  @Option(
      names = "--strict",
      description = "Exit 2 on a miss and 3 on a failure, instead of 0 (default: a cache never fails a job).")
  boolean strict;

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      defaultValue = "10m",
      description = "Give up after this long (default: ${DEFAULT-VALUE}); a stalled server becomes a failure, not a hang.")
  String timeout;

  @Option(
      names = "--cache-dir",
      paramLabel = "DIR",
      description =
          "Where a restore records what it wrote, so a later persist of the same directory skips reading unchanged"
              + " files (default: $EPHEMERA_CACHE_DIR, else ~/.cache/ephemera).")
  Path cacheDir;

  /** The files cache restores write and persists read. */
  dev.ephemera.archive.FilesCache filesCache() {
    Path dir = cacheDir;
    if (dir == null) {
      String property = System.getProperty("ephemera.cache-dir");
      dir = property != null && !property.isBlank()
          ? Path.of(property)
          : Path.of(System.getProperty("user.home"), ".cache", "ephemera");
    }
    return new dev.ephemera.archive.FilesCache(dir);
  }

  URI url() {
    String value = url;
    if (value == null || value.isBlank()) {
      throw new CliFailure(CliFailure.Kind.FAILURE, "no Ephemera URL: set EPHEMERA_URL or pass --url");
    }
    return URI.create(value.endsWith("/") ? value.substring(0, value.length() - 1) : value);
  }

  String token() {
    String value = token;
    if (value == null || value.isBlank()) {
      throw new CliFailure(CliFailure.Kind.FAILURE, "no job token: set EPHEMERA_TOKEN or pass --token");
    }
    return value;
  }

  String job() {
    String value = job;
    if (value == null || value.isBlank()) {
      throw new CliFailure(CliFailure.Kind.FAILURE, "no job id: set BUILDOMAT_JOB_ID or pass --job");
    }
    return value;
  }

  Duration timeout() {
    return dev.ephemera.config.Settings.parseDuration("--timeout", timeout);
  }

  ApiClient client() {
    return new ApiClient(url(), token(), job(), timeout());
  }
}
