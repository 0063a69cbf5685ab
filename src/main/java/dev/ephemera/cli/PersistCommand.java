package dev.ephemera.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ephemera.api.SetView;
import dev.ephemera.archive.ArchiveWriter;
import dev.ephemera.archive.Concurrency;
import dev.ephemera.archive.FileChange;
import dev.ephemera.archive.FileChangedException;
import dev.ephemera.archive.FilesCache;
import dev.ephemera.archive.Manifest;
import dev.ephemera.archive.ReusedStream;
import dev.ephemera.archive.TarWriter;
import dev.ephemera.rules.FileSelector;
import dev.ephemera.rules.OutputRule;
import dev.ephemera.rules.RuleSyntaxException;
import dev.ephemera.rules.Selected;
import dev.ephemera.rules.SelectedFile;
import dev.ephemera.rules.Selection;
import dev.ephemera.rules.SkippedSecret;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ephemera persist NAME PATH...} or {@code ephemera persist NAME --rules RULE...}: select files (buildomat
 * {@code output_rules} semantics), cut them into content-defined chunks, upload the chunks the store lacks, and register
 * a pending set that becomes live when the job succeeds.
 */
@Command(
    name = "persist",
    mixinStandardHelpOptions = true,
    description = {
      "Keep files for later jobs: a pending set that becomes live when this job succeeds.",
      "PATHs are kept whole (PATH/**/* for a directory); --rules takes buildomat output_rules;",
      "--declared persists every [[persist]] set of the job file."
    })
public final class PersistCommand implements Callable<Integer>, JobCommand {
  @Mixin ClientOptions client;

  @Spec CommandSpec spec;

  @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", description = "Set name ([A-Za-z0-9._-], at most 64).")
  String name;

  @Parameters(index = "1..*", paramLabel = "PATH", description = "Files or directories to keep.")
  List<Path> paths = new ArrayList<>();

  @Option(names = "--rules", arity = "1..*", paramLabel = "RULE", description = "output_rules, e.g. '/a/**/*' '!/a/tmp/*'.")
  List<String> rules = new ArrayList<>();

  @Option(
      names = "--declared",
      description = "Persist every set this job declared ([[persist]] in its job file, as job.started carried them).")
  boolean declared;

  @Option(names = "--dry-run", description = "Print the absolute path of every file that would be kept; needs no server.")
  boolean dryRun;

  @Option(names = "--when", description = "success (default) or always: also keep it if the job fails.")
  String when;

  @Option(names = "--allow-secrets", description = "Keep files on the secrets deny-list (.netrc, ssh keys, ...).")
  boolean allowSecrets;

  @Option(
      names = "--no-files-cache",
      description = "Read every file, even where the last restore into the same directory proves it unchanged.")
  boolean noFilesCache;

  @Option(
      names = "--wait",
      description =
          "Answer once the worker has read the stored chunks back and computed the set's sha256s (printed), instead of"
              + " as soon as every chunk is stored; either way the set goes live only once verified.")
  boolean waitForVerification;

  @Override
  public ClientOptions client() {
    return client;
  }

  @Override
  public Integer call() throws IOException {
    if (when != null && !when.equals("success") && !when.equals("always")) {
      throw new ParameterException(spec.commandLine(), "--when must be success or always, got " + when);
    }
    if (declared) {
      if (name != null || !paths.isEmpty() || !rules.isEmpty()) {
        throw new ParameterException(spec.commandLine(), "--declared takes no NAME, PATH or --rules");
      }
      return persistDeclared();
    }
    if (name == null || !name.matches("[A-Za-z0-9._-]{1,64}")) {
      throw new ParameterException(spec.commandLine(), "set name must be 1-64 characters of [A-Za-z0-9._-]: " + name);
    }
    if (paths.isEmpty() == rules.isEmpty()) {
      throw new ParameterException(spec.commandLine(), "give either PATHs or --rules RULE..., not both and not neither");
    }
    List<OutputRule> parsed = new ArrayList<>();
    if (!paths.isEmpty()) {
      parsed.addAll(selector(false).rulesForPaths(paths).rules());
    } else {
      for (String rule : rules) {
        try {
          parsed.add(OutputRule.parse(rule));
        } catch (RuleSyntaxException e) {
          throw new ParameterException(spec.commandLine(), "rule " + rule + ": " + e.getMessage());
        }
      }
    }
    persist(dryRun ? null : client.client(), name, parsed, !paths.isEmpty(), when == null ? "success" : when, false);
    return 0;
  }

  /** Every declared set, each on its own: one failing does not stop the others; the worst outcome decides. */
  private int persistDeclared() throws IOException {
    ApiClient api = client.client();
    JsonNode sets = api.jobView().declared();
    if (sets == null || sets.isEmpty()) {
      spec.commandLine().getErr().println("persist: job " + api.job() + " declared no sets; nothing to do");
      return 0;
    }
    CliFailure worst = null;
    for (JsonNode set : sets) {
      String setName = set.get("name").asText();
      List<OutputRule> setRules = new ArrayList<>();
      for (JsonNode rule : set.get("rules")) {
        setRules.add(OutputRule.parse(rule.asText()));
      }
      String setWhen = when != null ? when : set.path("when").asText("success");
      boolean setAllowsSecrets = set.path("allow_secrets").asBoolean(false);
      try {
        persist(dryRun ? null : api, setName, setRules, false, setWhen, setAllowsSecrets);
      } catch (CliFailure f) {
        spec.commandLine().getErr().println("ephemera: " + f.getMessage());
        if (worst == null || f.kind().strictExit > worst.kind().strictExit) {
          worst = f;
        }
      }
    }
    if (worst != null) {
      throw worst;
    }
    return 0;
  }

  /** The selector for one set: {@code --allow-secrets} keeps deny-listed files in every set, a set's own flag in it. */
  private FileSelector selector(boolean setAllowsSecrets) {
    return new FileSelector().allowingSecrets(allowSecrets || setAllowsSecrets);
  }

  /**
   * Selects, chunks, uploads and registers one set; with no API (a dry run) only prints what it would keep.
   *
   * @param setAllowsSecrets the set's own {@code allow_secrets} (a declared set's); {@code --allow-secrets} allows
   *     them for every set
   */
  private void persist(
      ApiClient api, String setName, List<OutputRule> parsed, boolean wholePaths, String setWhen,
      boolean setAllowsSecrets) throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    long start = System.nanoTime();
    Selection selection = selector(setAllowsSecrets).select(parsed);
    selection.warnings().forEach(w -> err.println("persist: warning: " + w));
    String keepsThem = declared ? "allow_secrets = true in its [[persist]] entry, or --allow-secrets," : "--allow-secrets";
    for (SkippedSecret secret : selection.skippedSecrets()) {
      err.println("persist: skipped " + secret.path() + " (" + secret.secret() + "; " + keepsThem + " keeps it)");
    }
    if (!selection.errors().isEmpty()) {
      throw new CliFailure(CliFailure.Kind.CHECK, "persist: " + setName + ": " + String.join("; ", selection.errors()));
    }
    if (api == null) {
      for (Selected entry : selection.entries()) {
        out.println(entry.path().toAbsolutePath());
      }
      out.flush();
      return;
    }
    List<String> relative = new ArrayList<>(selection.entries().stream().map(Selected::relativePath).toList());
    List<String> emptyDirs = List.of();
    if (wholePaths) {
      // PATHs are kept whole: their empty directories too (rules select files only, as buildomat's do).
      emptyDirs = selection.emptyDirectories();
      relative.addAll(emptyDirs);
    }
    ArchiveWriter.Result written = null;
    ApiClient.UploadSink sink = api.sink();
    ArchiveWriter writer = new ArchiveWriter(writerOptions(selection, emptyDirs));
    try {
      Optional<FilesCache.Record> record = noFilesCache ? Optional.empty() : readRecord(selection.root(), err);
      if (record.isPresent()) {
        String restored = record.get().setId();
        // Fetched (its chunk list) while the writer plans the stream and digests its headers: it needs the manifest at
        // the first entry the record proves unchanged.
        CompletableFuture<FilesCache.Restored> manifest = prefetch(() -> restoredManifest(api, restored));
        try {
          written = writer.write(selection.root(), relative, sink, record.get(), () -> Concurrency.await(manifest));
        } catch (ReusedStream.ReuseFailed e) {
          err.println(
              "persist: " + setName + ": reading every file: the last restore's record does not hold ("
                  + e.getMessage() + ")");
          sink = api.sink();
        }
      }
      if (written == null) {
        written = writer.write(selection.root(), relative, sink);
      }
    } catch (FileChangedException e) {
      throw new CliFailure(
          CliFailure.Kind.CHECK,
          "persist: " + setName + ": " + e.getMessage() + "; nothing was kept (a rule with % keeps what was read instead)",
          e);
    } catch (ApiClient.ApiError e) {
      throw refused(setName, e);
    }
    Manifest manifest = written.manifest();
    manifest.warnings().forEach(w -> err.println("persist: warning: " + w));
    if (api.patchesRefused() > 0) {
      err.println(
          "persist: " + setName + ": the worker took " + api.patchesRefused() + " chunk patch(es) only whole ("
              + api.lastPatchRefusal() + ")");
    }
    SetView set;
    try {
      set = api.register(setName, setWhen, manifest, sink, waitForVerification);
    } catch (ApiClient.ApiError e) {
      throw refused(setName, e);
    }
    long took = System.nanoTime() - start;
    long chunks = manifest.chunks().size();
    String human =
        String.format(
            "persist: %s: %d files, %s → set %s in %s (pending until the job %s); uploaded %d of %d chunks (%s%s), %d"
                + " already stored%s; %s; %s",
            setName,
            manifest.fileCount(),
            Output.bytes(manifest.tarSize()),
            set.setId(),
            set.scope(),
            setWhen.equals("always") ? "completes" : "succeeds",
            written.chunksUploaded(),
            chunks,
            Output.bytes(written.bytesUploaded()),
            written.chunksPatched() == 0
                ? ""
                : "; " + written.chunksPatched() + " sent as patches against the restored set: "
                    + Output.bytes(written.bytesSent()) + " sent",
            written.chunksReused(),
            written.filesCacheUsed()
                ? "; read " + Output.bytes(written.fileBytesRead()) + " of files, the rest unchanged since the restore"
                : "",
            Output.seconds(took),
            set.tarSha256() == null
                ? "the worker is verifying it (its tar sha256 comes with the set once verified; --wait prints it)"
                : "tar sha256 " + set.tarSha256());
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("command", "persist");
    json.put("outcome", "persisted");
    json.put("name", setName);
    json.put("set_id", set.setId());
    json.put("scope", set.scope());
    json.put("status", set.status());
    json.put("root", manifest.root());
    json.put("files", manifest.fileCount());
    json.put("tar_size", manifest.tarSize());
    json.put("tar_sha256", set.tarSha256());
    json.put("archive_size", set.archiveSize());
    json.put("archive_sha256", set.archiveSha256());
    json.put("chunks", chunks);
    json.put("chunks_uploaded", written.chunksUploaded());
    json.put("bytes_uploaded", written.bytesUploaded());
    json.put("chunks_patched", written.chunksPatched());
    json.put("bytes_sent", written.bytesSent());
    json.put("file_bytes_read", written.fileBytesRead());
    json.put("files_cache", written.filesCacheUsed());
    json.put("seconds", Output.secondsValue(took));
    json.put("when", setWhen);
    Output.result(out, client.json, human, json);
  }

  /**
   * How this persist writes. A file changing or vanishing while it is read fails the persist unless a {@code %} rule
   * covers it (then a warning, and the entry holds what was read); the worker computes {@code tar_sha256} and {@code
   * archive_sha256} at registration from the stored chunks, and lists the stream's entries with every file's sha256
   * (it must, to vouch for them), so the writer does not spend passes on either.
   */
  static ArchiveWriter.Options writerOptions(Selection selection, List<String> emptyDirs) {
    Map<String, Boolean> tolerant = new HashMap<>();
    for (Selected entry : selection.entries()) {
      tolerant.put(entry.relativePath(), entry instanceof SelectedFile f && f.sizeChangeOk());
    }
    emptyDirs.forEach(d -> tolerant.putIfAbsent(d, false));
    ArchiveWriter.Options defaults = ArchiveWriter.Options.defaults();
    return defaults
        .withTar(new TarWriter.Options(defaults.tar().hardlinks(), FileChange.Policy.perPath(tolerant), false))
        .withStreamDigests(false);
  }

  /** {@code load} on a thread of its own (a daemon: a persist that fails meanwhile does not wait for it). */
  private static CompletableFuture<FilesCache.Restored> prefetch(Concurrency.IoSupplier<FilesCache.Restored> load) {
    return CompletableFuture.supplyAsync(
        Concurrency.unchecked(load),
        task -> {
          Thread t = new Thread(task, "ephemera-restored-manifest");
          t.setDaemon(true);
          t.start();
        });
  }

  /** The restored set's manifest; a set that is gone or unreadable now makes the record unusable. */
  private static FilesCache.Restored restoredManifest(ApiClient api, String setId) throws IOException {
    try {
      return api.restoredManifest(setId);
    } catch (ApiClient.ApiError e) {
      throw new ReusedStream.ReuseFailed("the restored set " + setId + ": " + e.getMessage());
    }
  }

  /** The record of the last restore into {@code root}; none when it cannot be read (a warning: persist goes on). */
  private Optional<FilesCache.Record> readRecord(Path root, PrintWriter err) {
    try {
      return client.filesCache().read(root);
    } catch (IOException | RuntimeException e) {
      err.println("persist: warning: the files cache is unreadable, reading every file: " + e);
      return Optional.empty();
    }
  }

  private static CliFailure refused(String setName, ApiClient.ApiError e) {
    return new CliFailure(CliFailure.Kind.FAILURE, "persist: " + setName + ": not kept: " + e.getMessage(), e);
  }
}
