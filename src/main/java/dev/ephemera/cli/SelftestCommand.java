package dev.ephemera.cli;

import dev.ephemera.archive.ArchiveDigest;
import dev.ephemera.archive.ArchiveWriter;
import dev.ephemera.archive.FilesCache;
import dev.ephemera.archive.Manifest;
import dev.ephemera.archive.MemoryChunks;
import dev.ephemera.archive.Restorer;
import dev.ephemera.rules.FileSelector;
import dev.ephemera.rules.Selected;
import dev.ephemera.rules.Selection;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ephemera selftest}: whether this machine runs the archive engine — native zstd loads, which SHA-256 is used,
 * and a generated tree goes through the same selection, persist pipeline, manifest JSON and safe restore as a job's
 * set does, with the chunks kept in memory instead of a store, and comes back byte for byte. No server is involved.
 *
 * <p>The build also runs it to record which classes a persist and a restore load, for the class-data sharing archive
 * {@code bin/ephemera} starts job-side commands with (see the Makefile's {@code package}).
 */
@Command(
    name = "selftest",
    mixinStandardHelpOptions = true,
    description = "Check that this machine runs the archive engine: a generated tree persisted and restored in memory.")
public final class SelftestCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--json", description = "Print one JSON object instead of text.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    long start = System.nanoTime();
    Path work = Files.createTempDirectory("ephemera-selftest-");
    try {
      Path tree = work.resolve("tree");
      Map<String, byte[]> files = generate(tree);
      FileSelector selector = new FileSelector();
      Selection selection = selector.select(selector.rulesForPaths(List.of(tree)).rules());
      if (!selection.errors().isEmpty() || selection.entries().size() != files.size()) {
        throw new CliFailure(
            CliFailure.Kind.CHECK,
            "selftest: selected " + selection.entries().size() + " of " + files.size() + " files "
                + selection.errors());
      }
      List<String> relative = new ArrayList<>(selection.entries().stream().map(Selected::relativePath).toList());
      MemoryChunks chunks = new MemoryChunks(); // in place of the worker and its store
      ArchiveWriter.Result written =
          new ArchiveWriter(PersistCommand.writerOptions(selection, List.of()))
              .write(selection.root(), relative, chunks);
      // the stream digests as the worker fills them in, then through the manifest's JSON form as a restore gets it
      Manifest manifest = Manifest.fromJson(ArchiveDigest.compute(written.manifest(), chunks).toJson());
      Path target = work.resolve("restored");
      Restorer.Result restored = new Restorer(Restorer.Options.defaults()).restore(manifest, chunks, target);
      for (Map.Entry<String, byte[]> f : files.entrySet()) {
        Path p = target.resolve(selection.root().relativize(tree.resolve(f.getKey())).toString());
        if (!java.util.Arrays.equals(Files.readAllBytes(p), f.getValue())) {
          throw new CliFailure(CliFailure.Kind.CHECK, "selftest: " + f.getKey() + " did not come back as it was");
        }
      }
      // The files cache: the restore's record, one file changed, a persist reading only what changed must make the set
      // a persist reading every file makes.
      FilesCache cache = new FilesCache(work.resolve("cache"));
      Thread.sleep(20); // the record's ctime after every restored file's, whatever the clock's granularity
      cache.write("selftest", restored.target(), manifest.chunks(), restored.layout());
      Path changed =
          target.resolve(selection.root().relativize(tree.resolve("registry/src/crate-1.0.0/Cargo.toml")).toString());
      Files.write(changed, "changed".getBytes(java.nio.charset.StandardCharsets.UTF_8), StandardOpenOption.APPEND);
      FileSelector again = new FileSelector();
      Selection restoredSelection = again.select(again.rulesForPaths(List.of(target)).rules());
      List<String> restoredPaths = restoredSelection.entries().stream().map(Selected::relativePath).toList();
      ArchiveWriter writer = new ArchiveWriter(PersistCommand.writerOptions(restoredSelection, List.of()));
      ArchiveWriter.Result reused =
          writer.write(restoredSelection.root(), restoredPaths, chunks, cache.read(target).orElseThrow(),
              () -> FilesCache.Restored.of(manifest));
      ArchiveWriter.Result reread = writer.write(restoredSelection.root(), restoredPaths, chunks);
      if (!reused.filesCacheUsed() || !reused.manifest().chunks().equals(reread.manifest().chunks())
          || !reused.manifest().files().equals(reread.manifest().files())) {
        throw new CliFailure(CliFailure.Kind.CHECK, "selftest: a persist using the restore's record made another set");
      }
      long ms = (System.nanoTime() - start) / 1_000_000;
      Map<String, Object> result = new LinkedHashMap<>();
      result.put("command", "selftest");
      result.put("outcome", "ok");
      result.put("sha256", dev.ephemera.archive.Sha256.isNative() ? "native" : "jdk");
      result.put("files", files.size());
      result.put("chunks", manifest.chunks().size());
      result.put("tar_size", manifest.tarSize());
      result.put("tar_sha256", restored.tarSha256());
      result.put("files_cache_read", reused.fileBytesRead());
      result.put("files_cache_of", reread.fileBytesRead());
      result.put("millis", ms);
      String human =
          String.format(
              "selftest: ok: %d files, %d chunks, %d bytes of tar persisted and restored in memory, and persisted"
                  + " again after a change reading %d of %d bytes of files (the restore's record), in %d ms"
                  + " (native zstd, %s SHA-256)",
              files.size(), manifest.chunks().size(), manifest.tarSize(), reused.fileBytesRead(),
              reread.fileBytesRead(), ms, result.get("sha256"));
      Output.result(out, json, human, result);
      return 0;
    } finally {
      Restorer.deleteTree(work);
    }
  }

  /** A small tree with what a real one has: text, incompressible bytes larger than a chunk, an empty file, depth. */
  private static Map<String, byte[]> generate(Path tree) throws IOException {
    Map<String, byte[]> files = new LinkedHashMap<>();
    Random random = new Random(42);
    byte[] blob = new byte[3 << 20];
    random.nextBytes(blob);
    files.put("target/release/deps/blob.rlib", blob);
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < 20_000; i++) {
      text.append("fn item_").append(i).append("() -> u64 { ").append(random.nextInt(1000)).append(" }\n");
    }
    files.put("registry/src/crate-1.0.0/src/lib.rs", text.toString().getBytes(StandardCharsets.UTF_8));
    files.put("registry/src/crate-1.0.0/Cargo.toml", "[package]\nname = \"crate\"\n".getBytes(StandardCharsets.UTF_8));
    files.put("registry/.package-cache", new byte[0]);
    for (Map.Entry<String, byte[]> f : files.entrySet()) {
      Path p = tree.resolve(f.getKey());
      Files.createDirectories(p.getParent());
      Files.write(p, f.getValue());
    }
    return files;
  }
}
