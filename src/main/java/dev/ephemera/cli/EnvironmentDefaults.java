package dev.ephemera.cli;

import java.util.Map;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Where flags default from: the environment a job runs in ({@code EPHEMERA_URL}, {@code EPHEMERA_TOKEN},
 * {@code BUILDOMAT_JOB_ID}, ...). One mapping, applied by picocli, so a flag always wins and commands never read the
 * process environment themselves (tests hand in their own).
 */
final class EnvironmentDefaults implements IDefaultValueProvider {
  static final Map<String, String> VARIABLES =
      Map.ofEntries(
          Map.entry("--url", "EPHEMERA_URL"),
          Map.entry("--token", "EPHEMERA_TOKEN"),
          Map.entry("--job", "BUILDOMAT_JOB_ID"),
          Map.entry("--admin-token", "EPHEMERA_ADMIN_TOKEN"),
          Map.entry("--bootstrap", "EPHEMERA_KAFKA_BOOTSTRAP"),
          Map.entry("--topic-prefix", "EPHEMERA_KAFKA_TOPIC_PREFIX"),
          Map.entry("--cache-dir", "EPHEMERA_CACHE_DIR"),
          Map.entry("--max-entries", "EPHEMERA_MAX_ENTRIES"),
          Map.entry("--max-bytes", "EPHEMERA_MAX_BYTES"),
          Map.entry("--max-ratio", "EPHEMERA_MAX_RATIO"),
          Map.entry("--requested-by", "USER"));

  /** Flags that default from the job's environment only in job-side commands. */
  static final java.util.Set<String> JOB_ONLY = java.util.Set.of("--job", "--token");

  private final Map<String, String> env;

  EnvironmentDefaults(Map<String, String> env) {
    this.env = env;
  }

  @Override
  public String defaultValue(ArgSpec arg) {
    if (arg instanceof OptionSpec option) {
      String variable = VARIABLES.get(option.longestName());
      // The job's own identity only fills in commands run inside the job: `admin emit --job` names a new job.
      if (JOB_ONLY.contains(option.longestName())
          && !(option.command().userObject() instanceof JobCommand)) {
        return null;
      }
      if (variable != null) {
        String value = env.get(variable);
        return value == null || value.isBlank() ? null : value;
      }
    }
    return null;
  }
}
