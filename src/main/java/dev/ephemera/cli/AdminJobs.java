package dev.ephemera.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code ephemera admin jobs show JOB}: what a job was staged, restored and captured. */
@Command(
    name = "jobs",
    mixinStandardHelpOptions = true,
    description = "Jobs as Ephemera saw them.",
    subcommands = {AdminJobs.Show.class})
public final class AdminJobs {

  /** {@code ephemera admin jobs show JOB}. */
  @Command(name = "show", mixinStandardHelpOptions = true, description = "What a job staged, restored and captured.")
  static final class Show implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin AdminCommand.AdminApiMixin api;
    @Parameters(index = "0", paramLabel = "JOB") String job;
    @Option(names = "--json", description = "Print the API's JSON.") boolean json;

    @Override
    public Integer call() throws Exception {
      JsonNode j = new AdminHttp(api.options).get("/v1/admin/jobs/" + job);
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        out.println(AdminHttp.pretty(j));
        out.flush();
        return 0;
      }
      out.printf("job        %s (%s)%n", j.path("job_id").asText(), j.path("job_name").asText());
      out.printf("owner      %s (%s)%n", j.path("owner").asText(), j.path("repo").asText());
      String trigger = j.path("trigger").asText();
      out.printf("trigger    %s%s%s%s%n", trigger,
          j.hasNonNull("head_branch") ? " of branch " + j.path("head_branch").asText() : "",
          j.hasNonNull("pull_request") ? ", pull request #" + j.path("pull_request").asInt() : "",
          j.path("fork").asBoolean() ? " (fork)" : "");
      out.printf("reads      %s%n", j.path("read_scopes").size() == 0 ? "nothing (hermetic)" : join(j.path("read_scopes")));
      out.printf("writes     %s%n", j.hasNonNull("write_scope") ? j.path("write_scope").asText() : "nothing");
      out.printf("started    %s%n", j.path("started_at").asText());
      out.printf("completed  %s%n", j.hasNonNull("completed_at")
          ? j.path("completed_at").asText() + " (" + j.path("result").asText() + ")" : "not yet");
      section(out, "staged", j.path("staged"));
      section(out, "restored", j.path("restored"));
      section(out, "persisted", j.path("captured"));
      out.flush();
      return 0;
    }

    private static String join(JsonNode array) {
      List<String> parts = new java.util.ArrayList<>();
      array.forEach(n -> parts.add(n.asText()));
      return String.join(", ", parts);
    }

    private static void section(PrintWriter out, String title, JsonNode sets) {
      if (sets.size() == 0) {
        out.printf("%-10s none%n", title);
        return;
      }
      out.printf("%s:%n", title);
      for (JsonNode s : sets) {
        out.printf("  %s  %s  %s%s  %s  %s  created %s by job %s%n",
            s.path("set_id").asText(), s.path("name").asText(), s.path("scope").asText(),
            s.hasNonNull("fallback_level") ? " (fallback level " + s.path("fallback_level").asInt() + ")" : "",
            Output.bytes(s.path("archive_size").asLong()), s.path("status").asText(),
            AdminSets.minute(s.path("created_at").asText()), s.path("created_by_job").asText());
      }
    }
  }

  /** {@code ephemera admin report JOB}: the Markdown block the job reporter would attach to the check run. */
  @Command(
      name = "report",
      mixinStandardHelpOptions = true,
      description = "Print the Markdown block the job reporter attaches to the job's check run.")
  static final class Report implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin AdminCommand.AdminApiMixin api;
    @Parameters(index = "0", paramLabel = "JOB") String job;

    @Override
    public Integer call() throws Exception {
      JsonNode r = new AdminHttp(api.options).get("/v1/admin/jobs/" + job + "/report");
      spec.commandLine().getOut().print(r.path("markdown").asText());
      spec.commandLine().getOut().flush();
      return 0;
    }
  }
}
