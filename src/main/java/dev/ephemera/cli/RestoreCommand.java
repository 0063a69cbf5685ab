package dev.ephemera.cli;

import dev.ephemera.api.SetView;
import dev.ephemera.archive.ArchiveException;
import dev.ephemera.archive.Manifest;
import dev.ephemera.archive.Restorer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ephemera restore NAME} / {@code ephemera restore --all}: unfurl the newest readable set to the place it was
 * taken from, verifying every chunk before its bytes are used and the whole tar stream before anything is moved into
 * place. The restore is reported (with its hashes and origin) in the job's {@code ephemera.used}.
 */
@Command(
    name = "restore",
    mixinStandardHelpOptions = true,
    description = "Unfurl a persisted set where it was taken from (--all: every set staged for this job).")
public final class RestoreCommand implements Callable<Integer>, JobCommand {
  @Mixin ClientOptions client;

  @Mixin LimitOptions limits;

  @Spec CommandSpec spec;

  @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", description = "Set name.")
  String name;

  @Option(names = "--all", description = "Restore every set staged for this job at its start.")
  boolean all;

  @Override
  public ClientOptions client() {
    return client;
  }

  @Override
  public Integer call() throws IOException {
    if ((name == null) == !all) {
      throw new ParameterException(spec.commandLine(), "give either NAME or --all");
    }
    ApiClient api = client.client();
    List<SetView> sets = new ArrayList<>();
    if (all) {
      sets.addAll(api.staged());
      if (sets.isEmpty()) {
        throw new CliFailure(CliFailure.Kind.MISS, "restore: no sets were staged for job " + api.job());
      }
    } else {
      ApiClient.Resolution resolution = api.resolve(name);
      if (resolution.set().isEmpty()) {
        throw new CliFailure(CliFailure.Kind.MISS, resolution.missReason());
      }
      sets.add(resolution.set().get());
    }
    for (SetView set : sets) {
      restore(api, set);
    }
    return 0;
  }

  private void restore(ApiClient api, SetView set) throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    long start = System.nanoTime();
    Manifest manifest = api.manifestWithoutFiles(set.setId());
    Restorer.Options defaults = Restorer.Options.defaults();
    Restorer.Options options =
        new Restorer.Options(limits.limits(), defaults.fetchThreads(), defaults.window(), client.timeout());
    Restorer.Result result;
    try {
      result = new Restorer(options).restore(manifest, api.source(set.setId()), Path.of(manifest.root()));
    } catch (ArchiveException e) {
      throw new CliFailure(
          CliFailure.Kind.FAILURE, "restore: " + set.name() + ": set " + set.setId() + " refused: " + e.getMessage(), e);
    } catch (IOException e) {
      // the store or the worker failed or stalled (the deadline): say which set, and that nothing was touched
      throw new CliFailure(
          CliFailure.Kind.FAILURE,
          "restore: " + set.name() + ": set " + set.setId() + " not restored, the target is as it was: "
              + e.getMessage(),
          e);
    }
    result.warnings().forEach(w -> err.println("restore: warning: " + w));
    try {
      client.filesCache().write(set.setId(), result.target(), manifest.chunks(), result.layout());
    } catch (IOException | RuntimeException e) {
      // Only a later persist's speed depends on it.
      err.println("restore: warning: could not record the files written for a later persist: " + e);
    }
    api.restored(set.setId());
    long took = System.nanoTime() - start;
    String human =
        String.format(
            "restore: %s: set %s from %s (fallback level %d, created %s by job %s): %d files, %s into %s in %s;"
                + " downloaded %s; tar sha256 %s",
            set.name(),
            set.setId(),
            set.scope(),
            set.fallbackLevel(),
            set.createdAt(),
            set.createdByJob(),
            manifest.fileCount(),
            Output.bytes(result.tarSize()),
            manifest.root(),
            Output.seconds(took),
            Output.bytes(result.archiveSize()),
            result.tarSha256());
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("command", "restore");
    json.put("outcome", "restored");
    json.put("name", set.name());
    json.put("set_id", set.setId());
    json.put("scope", set.scope());
    json.put("fallback_level", set.fallbackLevel());
    json.put("root", manifest.root());
    json.put("files", manifest.fileCount());
    json.put("tar_size", result.tarSize());
    json.put("tar_sha256", result.tarSha256());
    json.put("bytes_downloaded", result.archiveSize());
    json.put("created_at", set.createdAt());
    json.put("created_by_job", set.createdByJob());
    json.put("seconds", Output.secondsValue(took));
    Output.result(out, client.json, human, json);
  }
}
