package dev.ephemera.cli;

import dev.ephemera.jobfile.JobFile;
import dev.ephemera.jobfile.JobFileException;
import dev.ephemera.jobfile.PersistSpec;
import dev.ephemera.policy.Access;
import dev.ephemera.policy.JobContext;
import dev.ephemera.policy.OwnerPolicy;
import dev.ephemera.policy.Scope;
import dev.ephemera.policy.ScopePolicy;
import dev.ephemera.rules.FileSelector;
import dev.ephemera.rules.OutputRule;
import dev.ephemera.rules.Selection;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ephemera plan JOBFILE}: what a job of this file would restore and persist — the scopes its trigger may read
 * and write (DESIGN.md §5), and for each {@code [[persist]]} set its rules and what they select on this machine. Reads
 * the file with buildomat's rules (and its errors); needs no server.
 */
@Command(
    name = "plan",
    mixinStandardHelpOptions = true,
    description = "Show what a job of JOBFILE would restore and persist (needs no server).")
public final class PlanCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "JOBFILE", description = ".github/buildomat/jobs/NAME.sh") Path file;

  @Option(names = "--push", paramLabel = "BRANCH", description = "Plan for a push to BRANCH.") String push;

  @Option(names = "--pr", paramLabel = "N", description = "Plan for pull request N.") Integer pr;

  @Option(names = "--branch", paramLabel = "BRANCH", description = "Head branch of the pull request.") String branch;

  @Option(names = "--fork", description = "The pull request comes from a fork.") boolean fork;

  @Option(names = "--default-branch", defaultValue = "main", description = "Default: ${DEFAULT-VALUE}.")
  String defaultBranch;

  @Option(names = "--mode", defaultValue = "hermetic", description = "Owner policy for default-branch pushes: hermetic or seed.")
  String mode;

  @Option(names = "--json", description = "Print one JSON object instead of text.") boolean json;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    JobFile jobFile;
    try {
      jobFile = JobFile.parse(file.getFileName().toString(), Files.readString(file));
    } catch (JobFileException e) {
      throw new CliFailure(CliFailure.Kind.CHECK, "plan: " + e.getMessage());
    }
    OwnerPolicy.DefaultBranchMode policyMode = OwnerPolicy.DefaultBranchMode.valueOf(mode.toUpperCase(Locale.ROOT));
    Map<String, JobContext> contexts = contexts();
    Map<String, Object> machine = new LinkedHashMap<>();
    machine.put("command", "plan");
    machine.put("job", jobFile.name());
    machine.put("enabled", jobFile.enable());
    StringBuilder human = new StringBuilder();
    human.append("job \"").append(jobFile.name()).append("\" (").append(file).append("): ");
    human.append(jobFile.persist().size()).append(" persisted set(s) declared");
    if (!jobFile.enable()) {
      human.append("; the job is disabled (enable = false)");
    }
    human.append('\n');
    List<Map<String, Object>> cases = new ArrayList<>();
    for (var entry : contexts.entrySet()) {
      Access access = ScopePolicy.access(entry.getValue(), policyMode);
      String reads = access.reads().isEmpty() ? "nothing (hermetic)" : join(access.reads());
      String writes = access.write().map(Scope::toString).orElse("nothing");
      human.append("as ").append(entry.getKey()).append(":\n");
      human.append("  restore --all reads ").append(reads).append('\n');
      human.append("  persist --declared writes ").append(writes).append('\n');
      cases.add(
          Map.of(
              "as", entry.getKey(),
              "reads", access.reads().stream().map(Scope::toString).toList(),
              "writes", writes));
    }
    machine.put("cases", cases);
    List<Map<String, Object>> sets = new ArrayList<>();
    FileSelector selector = new FileSelector();
    for (PersistSpec set : jobFile.persist()) {
      Selection selection = selector.allowingSecrets(set.allowSecrets()).select(set.rules());
      long bytes = 0;
      for (var f : selection.files()) {
        bytes += Files.size(f.path());
      }
      human.append("set ").append(set.name()).append(" (when ").append(set.when().name().toLowerCase(Locale.ROOT));
      human.append(set.allowSecrets() ? ", secrets allowed" : "").append(")\n");
      human.append("  rules: ").append(set.rules().stream().map(OutputRule::toString).collect(Collectors.joining(" ")));
      human.append('\n');
      human.append("  here: ").append(selection.entries().size()).append(" entries, ").append(Output.bytes(bytes));
      human.append(" under ").append(selection.root()).append('\n');
      selection.warnings().forEach(w -> human.append("  warning: ").append(w).append('\n'));
      selection.errors().forEach(e -> human.append("  error: ").append(e).append('\n'));
      selection.skippedSecrets().forEach(s -> human.append("  skipped secret: ").append(s.path()).append('\n'));
      Map<String, Object> s = new LinkedHashMap<>();
      s.put("name", set.name());
      s.put("when", set.when().name().toLowerCase(Locale.ROOT));
      s.put("rules", set.rules().stream().map(OutputRule::toString).toList());
      s.put("root", selection.root().toString());
      s.put("entries", selection.entries().size());
      s.put("bytes", bytes);
      s.put("warnings", selection.warnings());
      s.put("errors", selection.errors());
      sets.add(s);
    }
    machine.put("sets", sets);
    Output.result(out, json, human.toString().stripTrailing(), machine);
    return 0;
  }

  private Map<String, JobContext> contexts() {
    Map<String, JobContext> contexts = new LinkedHashMap<>();
    String owner = "gong-0";
    if (push != null) {
      contexts.put("a push to " + push, new JobContext(owner, JobContext.Trigger.PUSH, push, defaultBranch, null, false));
    } else if (pr != null || fork || branch != null) {
      String what = "pull request" + (pr == null ? "" : " #" + pr) + (fork ? " from a fork" : "");
      contexts.put(
          what, new JobContext(owner, JobContext.Trigger.PULL_REQUEST, fork ? null : branch, defaultBranch, pr, fork));
    } else {
      contexts.put(
          "a push to " + defaultBranch,
          new JobContext(owner, JobContext.Trigger.PUSH, defaultBranch, defaultBranch, null, false));
      contexts.put(
          "a push to branch b", new JobContext(owner, JobContext.Trigger.PUSH, "b", defaultBranch, null, false));
      contexts.put(
          "pull request #1 from branch b",
          new JobContext(owner, JobContext.Trigger.PULL_REQUEST, "b", defaultBranch, 1, false));
      contexts.put(
          "pull request #1 from a fork",
          new JobContext(owner, JobContext.Trigger.PULL_REQUEST, null, defaultBranch, 1, true));
    }
    return contexts;
  }

  private static String join(List<Scope> scopes) {
    return scopes.stream().map(Scope::toString).collect(Collectors.joining(", "));
  }
}
