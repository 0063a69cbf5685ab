package dev.ephemera.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ephemera admin sets [--owner O] [--name N] [--scope S] [--status live,superseded] [--job J]}: the catalog's
 * sets like a cache listing; {@code ephemera admin sets show ID}: one set with a manifest summary and its uses.
 */
@Command(
    name = "sets",
    mixinStandardHelpOptions = true,
    description = "List sets (newest first): name, scope, size, created, last used, created by job, status.",
    subcommands = {AdminSets.Show.class})
public final class AdminSets implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin AdminCommand.AdminApiMixin api;

  @Option(names = "--owner", paramLabel = "OWNER") String owner;
  @Option(names = "--name", paramLabel = "NAME") String name;
  @Option(names = "--scope", paramLabel = "SCOPE") String scope;

  @Option(names = "--status", paramLabel = "STATUS[,STATUS]",
      description = "pending, live, superseded, invalidated, evicted, discarded (default: all).")
  String status;

  @Option(names = "--job", paramLabel = "JOB", description = "Only sets captured by this job.") String job;

  @Option(names = "--limit", paramLabel = "N", defaultValue = "100", description = "At most N (default: ${DEFAULT-VALUE}).")
  int limit;

  @Option(names = "--json", description = "Print the API's JSON.") boolean json;

  @Override
  public Integer call() throws Exception {
    Map<String, String> q = new LinkedHashMap<>();
    q.put("owner", owner);
    q.put("name", name);
    q.put("scope", scope);
    q.put("status", status);
    q.put("job", job);
    q.put("limit", Integer.toString(limit));
    JsonNode answer = new AdminHttp(api.options).get(AdminHttp.query("/v1/admin/sets", q));
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      out.println(AdminHttp.pretty(answer));
    } else {
      List<String[]> rows = new java.util.ArrayList<>();
      rows.add(new String[] {"SET", "OWNER", "NAME", "SCOPE", "SIZE", "CREATED", "LAST USED", "CREATED BY JOB", "STATUS"});
      for (JsonNode s : answer.path("sets")) {
        rows.add(
            new String[] {
              s.path("set_id").asText(),
              s.path("owner").asText(),
              s.path("name").asText(),
              s.path("scope").asText(),
              Output.bytes(s.path("archive_size").asLong()),
              minute(s.path("created_at").asText()),
              s.hasNonNull("last_used_at") ? minute(s.path("last_used_at").asText()) : "never",
              s.path("created_by_job").asText(),
              s.path("status").asText() + (s.path("head").asBoolean() ? " (head)" : "")
            });
      }
      table(out, rows);
      if (answer.path("sets").size() == limit) {
        out.printf("(first %d; narrow the listing or raise --limit)%n", limit);
      }
    }
    out.flush();
    return 0;
  }

  /** {@code ephemera admin sets show ID}. */
  @Command(name = "show", mixinStandardHelpOptions = true, description = "One set: identity, manifest summary, uses.")
  static final class Show implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin AdminCommand.AdminApiMixin api;
    @Parameters(index = "0", paramLabel = "ID") String setId;
    @Option(names = "--json", description = "Print the API's JSON.") boolean json;

    @Override
    public Integer call() throws Exception {
      JsonNode d = new AdminHttp(api.options).get("/v1/admin/sets/" + setId);
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        out.println(AdminHttp.pretty(d));
        out.flush();
        return 0;
      }
      JsonNode s = d.path("set");
      out.printf("set             %s%n", s.path("set_id").asText());
      out.printf("owner           %s%n", s.path("owner").asText());
      out.printf("name            %s%n", s.path("name").asText());
      out.printf("scope           %s%n", s.path("scope").asText());
      out.printf("status          %s%s%s%n", s.path("status").asText(), s.path("head").asBoolean() ? " (head)" : "",
          s.hasNonNull("status_reason") ? ": " + s.path("status_reason").asText() : "");
      out.printf("created         %s by job %s%n", s.path("created_at").asText(), s.path("created_by_job").asText());
      out.printf("last used       %s%n", s.hasNonNull("last_used_at") ? s.path("last_used_at").asText() : "never");
      out.printf("root            %s%n", d.path("root_path").asText());
      out.printf("size            %s stored, %s unpacked, %d files, %d chunks%n",
          Output.bytes(s.path("archive_size").asLong()), Output.bytes(s.path("tar_size").asLong()),
          s.path("file_count").asInt(), d.path("chunk_count").asInt());
      out.printf("tar sha256      %s%n", d.path("tar_sha256").asText());
      out.printf("archive sha256  %s%n", d.path("archive_sha256").asText());
      out.printf("download        %s%n", d.path("download_url").asText());
      JsonNode m = d.path("manifest");
      StringBuilder entries = new StringBuilder();
      m.path("entries").fields().forEachRemaining(e -> entries.append(entries.length() == 0 ? "" : ", ")
          .append(e.getValue().asLong()).append(' ').append(e.getKey()));
      out.printf("entries         %s%n", entries);
      if (m.path("largest").size() > 0) {
        out.println("largest files:");
        for (JsonNode f : m.path("largest")) {
          out.printf("  %10s  %s%n", Output.bytes(f.path("size").asLong()), f.path("path").asText());
        }
      }
      for (JsonNode w : m.path("warnings")) {
        out.printf("warning: %s%n", w.asText());
      }
      JsonNode uses = d.path("uses");
      if (uses.size() == 0) {
        out.println("uses: none");
      } else {
        out.println("uses:");
        for (JsonNode u : uses) {
          out.printf("  %s  %-8s by job %s (fallback level %d)%n", u.path("at").asText(), u.path("kind").asText().toLowerCase(java.util.Locale.ROOT),
              u.path("job_id").asText(), u.path("fallback_level").asInt());
        }
      }
      out.flush();
      return 0;
    }
  }

  /** {@code 2026-11-25T16:24:36.123456Z} → {@code 2026-11-25 16:24}. */
  static String minute(String instant) {
    return instant.length() >= 16 ? instant.substring(0, 10) + " " + instant.substring(11, 16) : instant;
  }

  /** Left-aligned columns separated by two spaces. */
  static void table(PrintWriter out, List<String[]> rows) {
    int[] width = new int[rows.get(0).length];
    for (String[] r : rows) {
      for (int i = 0; i < r.length; i++) {
        width[i] = Math.max(width[i], r[i].length());
      }
    }
    for (String[] r : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < r.length; i++) {
        line.append(i == r.length - 1 ? r[i] : String.format("%-" + width[i] + "s  ", r[i]));
      }
      out.println(line.toString().stripTrailing());
    }
  }
}
