package dev.ephemera.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code ephemera admin policy get|set|reset OWNER}: an owner's default-branch mode, quota, idle limit, when default. */
@Command(
    name = "policy",
    mixinStandardHelpOptions = true,
    description = "Show or change an owner's policy (default-branch mode, quota, idle limit, when default).",
    subcommands = {AdminPolicy.Get.class, AdminPolicy.Set.class, AdminPolicy.Reset.class})
public final class AdminPolicy {

  /** {@code ephemera admin policy get OWNER}. */
  @Command(name = "get", mixinStandardHelpOptions = true, description = "Print the owner's policy.")
  static final class Get implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin AdminCommand.AdminApiMixin api;
    @Parameters(index = "0", paramLabel = "OWNER") String owner;
    @Option(names = "--json", description = "Print the API's JSON.") boolean json;

    @Override
    public Integer call() throws Exception {
      print(spec.commandLine().getOut(), new AdminHttp(api.options).get(path(owner)), json);
      return 0;
    }
  }

  /** {@code ephemera admin policy set OWNER [--mode seed] [--quota 20GiB] [--idle 14d] [--when always]}. */
  @Command(name = "set", mixinStandardHelpOptions = true, description = "Change some fields of the owner's policy.")
  static final class Set implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin AdminCommand.AdminApiMixin api;
    @Parameters(index = "0", paramLabel = "OWNER") String owner;

    @Option(names = "--mode", paramLabel = "hermetic|seed",
        description = "Default-branch pushes: hermetic (read and write nothing) or seed (write branch:<default>).")
    String mode;

    @Option(names = "--quota", paramLabel = "SIZE", description = "Stored bytes before LRU eviction: 20GiB, 500MiB, 1073741824.")
    String quota;

    @Option(names = "--idle", paramLabel = "DAYS", description = "Evict sets unused this long: 14d (whole days).")
    String idle;

    @Option(names = "--when", paramLabel = "success|always", description = "Default 'when' of declared sets.")
    String when;

    @Option(names = "--json", description = "Print the API's JSON.") boolean json;

    @Override
    public Integer call() throws Exception {
      Map<String, Object> change = new LinkedHashMap<>();
      if (mode != null) {
        change.put("default_branch_mode", mode.toLowerCase(Locale.ROOT));
      }
      if (quota != null) {
        change.put("quota_bytes", parseSize(quota));
      }
      if (idle != null) {
        change.put("idle_days", parseDays(idle));
      }
      if (when != null) {
        change.put("when_default", when.toLowerCase(Locale.ROOT));
      }
      if (change.isEmpty()) {
        throw new ParameterException(spec.commandLine(), "nothing to set: give --mode, --quota, --idle or --when");
      }
      print(spec.commandLine().getOut(), new AdminHttp(api.options).put(path(owner), change), json);
      return 0;
    }

    private long parseSize(String text) {
      try {
        return dev.ephemera.config.Settings.parseSize(text);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "--quota: " + e.getMessage());
      }
    }

    private int parseDays(String text) {
      try {
        Duration d = dev.ephemera.config.Settings.parseDuration("--idle", text);
        if (d.toDays() < 1 || !d.equals(Duration.ofDays(d.toDays()))) {
          throw new ParameterException(spec.commandLine(), "--idle must be whole days (e.g. 14d), got " + text);
        }
        return Math.toIntExact(d.toDays());
      } catch (RuntimeException e) {
        if (e instanceof ParameterException p) {
          throw p;
        }
        throw new ParameterException(spec.commandLine(), "--idle: " + e.getMessage());
      }
    }
  }

  /** {@code ephemera admin policy reset OWNER}: back to the defaults. */
  @Command(name = "reset", mixinStandardHelpOptions = true, description = "Forget the owner's policy: defaults apply.")
  static final class Reset implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin AdminCommand.AdminApiMixin api;
    @Parameters(index = "0", paramLabel = "OWNER") String owner;
    @Option(names = "--json", description = "Print the API's JSON.") boolean json;

    @Override
    public Integer call() throws Exception {
      print(spec.commandLine().getOut(), new AdminHttp(api.options).delete(path(owner)), json);
      return 0;
    }
  }

  private static String path(String owner) {
    return "/v1/admin/owners/" + owner + "/policy";
  }

  private static void print(PrintWriter out, JsonNode p, boolean json) throws Exception {
    if (json) {
      out.println(AdminHttp.pretty(p));
    } else {
      out.printf("owner                %s%s%n", p.path("owner").asText(), p.path("is_default").asBoolean() ? " (defaults)" : "");
      out.printf("default-branch mode  %s%n", p.path("default_branch_mode").asText());
      out.printf("quota                %s (%d bytes)%n", Output.bytes(p.path("quota_bytes").asLong()),
          p.path("quota_bytes").asLong());
      out.printf("stored               %s (%d%% of quota)%n", Output.bytes(p.path("stored_bytes").asLong()),
          Math.round(100.0 * p.path("stored_bytes").asLong() / Math.max(1, p.path("quota_bytes").asLong())));
      out.printf("idle limit           %d days%n", p.path("idle_days").asInt());
      out.printf("when default         %s%n", p.path("when_default").asText());
      if (p.hasNonNull("updated_at")) {
        out.printf("updated at           %s%n", p.path("updated_at").asText());
      }
    }
    out.flush();
  }
}
