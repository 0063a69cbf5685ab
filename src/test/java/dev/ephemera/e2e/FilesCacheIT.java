package dev.ephemera.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ephemera.catalog.SetDao;
import dev.ephemera.catalog.SetRow;
import dev.ephemera.catalog.SetStatus;
import dev.ephemera.event.EventCodec;
import dev.ephemera.event.Repo;
import dev.ephemera.testing.RandomTree;
import dev.ephemera.testing.RealServices;
import dev.ephemera.testing.RunningWorker;
import dev.ephemera.testing.RunningWorker.CliRun;
import dev.ephemera.testing.TestServices;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restore, build, persist — the way a job uses a set: the persist reads only the files the build changed (the restore
 * recorded what it wrote) and still registers exactly the set a persist reading every file registers, against the real
 * worker, Kafka, PostgreSQL and S3 API.
 */
@ExtendWith(RealServices.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FilesCacheIT {
  private static final ObjectMapper JSON = EventCodec.newMapper();
  private static final Repo REPO = new Repo("oxidecomputer", "omicron", 4545);

  private RunningWorker worker;
  @TempDir Path tmp;

  @BeforeAll
  void start(TestServices services) throws Exception {
    worker = RunningWorker.start(services, "files-cache");
  }

  @AfterAll
  void stop() throws Exception {
    worker.close();
  }

  private JsonNode cli(String job, String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--json", "--cache-dir", tmp.resolve("cache").toString()));
    CliRun run = worker.cli(job, all.toArray(String[]::new));
    assertThat(run.exit()).as(run.err()).isZero();
    return JSON.readTree(run.out());
  }

  private void awaitLive(String setId) {
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> {
          Optional<SetRow> set = worker.app().catalog().jdbi().withExtension(SetDao.class, d -> d.find(setId));
          return set.isPresent() && set.get().status() == SetStatus.LIVE;
        });
  }

  /** The set a persist registered without waiting, once the worker has verified it. */
  private SetRow awaitVerified(String setId) {
    return org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> worker.app().catalog().jdbi().withExtension(SetDao.class, d -> d.find(setId)), Optional::isPresent)
        .orElseThrow();
  }

  @Test
  void aPersistAfterARestoreReadsOnlyWhatTheBuildChangedAndRegistersTheSameSet() throws Exception {
    Path tree =
        RandomTree.write(
            tmp.resolve("target"), 21, 150, 150_000, 200_000, i -> "debug/deps/d" + (i % 4) + "/lib" + i + ".rlib");
    String first = worker.startedPushJob(REPO);
    JsonNode cold = cli(first, "persist", "target", tree.toString());
    worker.completedPushJob(first, REPO);
    awaitLive(cold.get("set_id").asText());

    // the next job starts from a pristine environment, restores, builds a little
    dev.ephemera.archive.Restorer.deleteTree(tree);
    String next = worker.startedPushJob(REPO);
    JsonNode restored = cli(next, "restore", "target");
    assertThat(restored.get("set_id").asText()).isEqualTo(cold.get("set_id").asText());
    List<Path> files;
    try (Stream<Path> s = Files.walk(tree)) {
      files = s.filter(Files::isRegularFile).sorted().toList();
    }
    Files.writeString(files.get(50), "rebuilt", StandardOpenOption.APPEND);
    Files.writeString(files.get(100), "rebuilt", StandardOpenOption.APPEND);
    Files.write(files.get(100).resolveSibling("new.rlib"), new byte[50_000]);

    JsonNode cached = cli(next, "persist", "target", tree.toString());
    JsonNode everything = cli(next, "persist", "target-read", tree.toString(), "--no-files-cache", "--wait");

    assertThat(cached.get("files_cache").asBoolean()).isTrue();
    assertThat(everything.get("files_cache").asBoolean()).isFalse();
    long treeBytes = everything.get("file_bytes_read").asLong();
    // three changed files in a 37 MB tree of 1 MiB chunks: each costs a chunk or two until the chunker is in step again
    assertThat(cached.get("file_bytes_read").asLong()).isLessThan(treeBytes / 2);
    // the same set: the worker's own digests of the stored chunks agree (the first persist did not wait for them)
    SetRow verified = awaitVerified(cached.get("set_id").asText());
    assertThat(verified.tarSha256()).isEqualTo(everything.get("tar_sha256").asText());
    assertThat(verified.archiveSha256()).isEqualTo(everything.get("archive_sha256").asText());
    assertThat(cached.get("chunks").asLong()).isEqualTo(everything.get("chunks").asLong());
    assertThat(cached.get("chunks_uploaded").asLong()).isPositive().isLessThan(cached.get("chunks").asLong() / 2);
  }

  @Test
  void aRecordWhoseSetCannotBeReadMeansReadingEveryFileAndTheSameSet() throws Exception {
    Path tree = RandomTree.write(tmp.resolve("gone"), 22, 40, 100_000, 150_000, i -> "deps/lib" + i + ".rlib");
    String first = worker.startedPushJob(REPO);
    JsonNode cold = cli(first, "persist", "gone", tree.toString(), "--wait");
    worker.completedPushJob(first, REPO);
    awaitLive(cold.get("set_id").asText());
    dev.ephemera.archive.Restorer.deleteTree(tree);
    String next = worker.startedPushJob(REPO);
    cli(next, "restore", "gone");
    // the record now names a set the worker does not have: fetching its manifest (ahead, on its own thread) fails
    var cache = new dev.ephemera.archive.FilesCache(tmp.resolve("cache"));
    var record = cache.read(tree).orElseThrow();
    cache.write("01M8ZZZZZZZZZZZZZZZZZZZZZZ", tree, record.chunks(), record.layout());

    CliRun run =
        worker.cli(next, "persist", "gone", tree.toString(), "--json", "--wait", "--cache-dir",
            tmp.resolve("cache").toString());

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.err()).contains("reading every file: the last restore's record does not hold")
        .contains("the restored set 01M8ZZZZZZZZZZZZZZZZZZZZZZ");
    JsonNode again = JSON.readTree(run.out());
    assertThat(again.get("files_cache").asBoolean()).isFalse();
    assertThat(again.get("tar_sha256").asText()).isEqualTo(cold.get("tar_sha256").asText());
  }
}
