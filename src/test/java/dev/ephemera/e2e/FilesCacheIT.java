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

  /** What {@link #persistedAndRestored} did: the cold persist's answer, and the next job, which restored it. */
  private record Restored(JsonNode cold, String next) {}

  /**
   * A job persists {@code tree} as set {@code name} and succeeds; the next job starts from a pristine environment
   * (the tree gone) and restores the set.
   */
  private Restored persistedAndRestored(String name, Path tree) throws Exception {
    String first = worker.startedPushJob(REPO);
    JsonNode cold = cli(first, "persist", name, tree.toString());
    worker.completedPushJob(first, REPO);
    awaitLive(cold.get("set_id").asText());
    dev.ephemera.archive.Restorer.deleteTree(tree);
    String next = worker.startedPushJob(REPO);
    JsonNode restored = cli(next, "restore", name);
    assertThat(restored.get("set_id").asText()).isEqualTo(cold.get("set_id").asText());
    return new Restored(cold, next);
  }

  @Test
  void aPersistAfterARestoreReadsOnlyWhatTheBuildChangedAndRegistersTheSameSet() throws Exception {
    Path tree =
        RandomTree.write(
            tmp.resolve("target"), 21, 150, 150_000, 200_000, i -> "debug/deps/d" + (i % 4) + "/lib" + i + ".rlib");
    // the next job restores, builds a little
    String next = persistedAndRestored("target", tree).next();
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
    // the chunks holding a changed file went as patches against the restored set: only the changed files' bytes (and
    // the headers around them) were sent, and what is stored is the same frames' worth as a full upload
    assertThat(cached.get("chunks_patched").asLong()).isPositive().isLessThanOrEqualTo(cached.get("chunks_uploaded").asLong());
    assertThat(cached.get("bytes_sent").asLong()).isPositive().isLessThan(cached.get("bytes_uploaded").asLong() / 2);
    assertThat(everything.get("chunks_patched").asLong()).isZero();
  }

  @Test
  void aRecordWhoseSetCannotBeReadMeansReadingEveryFileAndTheSameSet() throws Exception {
    Path tree = RandomTree.write(tmp.resolve("gone"), 22, 40, 100_000, 150_000, i -> "deps/lib" + i + ".rlib");
    Restored restored = persistedAndRestored("gone", tree);
    JsonNode cold = restored.cold();
    String next = restored.next();
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
    assertThat(again.get("tar_sha256").asText()).isEqualTo(awaitVerified(cold.get("set_id").asText()).tarSha256());
  }

  @Test
  void aChunkPatchWhoseBaseChunkIsGoneIsSentWholeAndTheSetIsTheSame() throws Exception {
    Path tree = RandomTree.write(tmp.resolve("lost"), 23, 60, 100_000, 100_000, i -> "deps/lib" + i + ".rlib");
    String next = persistedAndRestored("lost", tree).next();
    Path changed = tree.resolve("deps/lib30.rlib");
    Files.writeString(changed, "rebuilt", StandardOpenOption.APPEND);
    // the store loses the restored set's chunk that held the changed file: the patch against it cannot be rebuilt
    var record = new dev.ephemera.archive.FilesCache(tmp.resolve("cache")).read(tree).orElseThrow();
    long offset = record.layout().entries().stream().filter(e -> e.path().equals("deps/lib30.rlib")).findFirst()
        .orElseThrow().offset();
    long at = 0;
    String lost = null;
    for (var c : record.chunks()) {
      if (offset < at + c.rawSize()) {
        lost = c.sha256();
        break;
      }
      at += c.rawSize();
    }
    worker.app().store().delete(dev.ephemera.api.JobApi.chunkKey(lost));

    CliRun run =
        worker.cli(next, "persist", "lost", tree.toString(), "--json", "--cache-dir", tmp.resolve("cache").toString());
    JsonNode everything = cli(next, "persist", "lost-read", tree.toString(), "--no-files-cache", "--wait");

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.err()).contains("chunk patch(es) only whole (").contains("is not in the store");
    JsonNode cached = JSON.readTree(run.out());
    assertThat(cached.get("files_cache").asBoolean()).isTrue();
    assertThat(cached.get("chunks_uploaded").asLong()).isGreaterThan(cached.get("chunks_patched").asLong());
    assertThat(awaitVerified(cached.get("set_id").asText()).tarSha256()).isEqualTo(everything.get("tar_sha256").asText());
  }

  // ---- the patch route itself, as a hostile or broken client might use it ----

  private java.net.http.HttpResponse<String> putPatch(String job, String sha, byte[] body) throws Exception {
    return java.net.http.HttpClient.newHttpClient()
        .send(
            java.net.http.HttpRequest.newBuilder(worker.url().resolve("/v1/jobs/" + job + "/chunks/" + sha + "/patch"))
                .header("Authorization", "Bearer " + worker.jobToken(job))
                .PUT(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body))
                .build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
  }

  private static String sha256(byte[] raw) throws Exception {
    return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(raw));
  }

  /** The raw bytes of the first chunk of a live set the job {@code first} persisted. */
  private byte[] firstChunk(String setId) {
    String sha =
        worker.app().catalog().jdbi().withHandle(h -> h.createQuery(
                "select chunk_sha256 from set_chunks where set_id = :s and ord = 0").bind("s", setId)
            .mapTo(String.class).one());
    byte[] frame = worker.app().store().getBytes(dev.ephemera.api.JobApi.chunkKey(sha)).orElseThrow();
    return com.github.luben.zstd.Zstd.decompress(frame, (int) com.github.luben.zstd.Zstd.getFrameContentSize(frame));
  }

  @Test
  void thePatchRouteRebuildsOnlyFromASetTheJobMayReadAndOnlyTheNamedChunk() throws Exception {
    Path tree = RandomTree.write(tmp.resolve("base"), 24, 20, 100_000, 50_000, i -> "lib" + i + ".rlib");
    String first = worker.startedPushJob(REPO);
    String setId = cli(first, "persist", "base", tree.toString(), "--wait").get("set_id").asText();
    worker.completedPushJob(first, REPO);
    awaitLive(setId);
    Repo other = new Repo("someone-else", "elsewhere", 1);
    String theirs = worker.startedPushJob(other);
    String theirSet = cli(theirs, "persist", "base", tree.toString(), "--wait").get("set_id").asText();
    worker.completedPushJob(theirs, other);
    awaitLive(theirSet);
    String job = worker.startedPushJob(REPO);

    // a new chunk: 1000 bytes of the set's stream, 5 new bytes, 1000 more of its stream
    byte[] base = firstChunk(setId);
    byte[] chunk = new byte[2005];
    System.arraycopy(base, 0, chunk, 0, 1000);
    System.arraycopy("fresh".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, chunk, 1000, 5);
    System.arraycopy(base, 3000, chunk, 1005, 1000);
    List<dev.ephemera.archive.ChunkPatch.Piece> pieces =
        List.of(
            new dev.ephemera.archive.ChunkPatch.Piece(0, 1000), new dev.ephemera.archive.ChunkPatch.Piece(-1, 5),
            new dev.ephemera.archive.ChunkPatch.Piece(3000, 1000));
    String sha = sha256(chunk);
    byte[] patch = dev.ephemera.archive.ChunkPatch.of(setId, chunk, chunk.length, pieces).encode(3);

    // another owner's set is not a base, whatever its bytes
    var foreign = putPatch(job, sha, dev.ephemera.archive.ChunkPatch.of(theirSet, chunk, chunk.length, pieces).encode(3));
    assertThat(foreign.statusCode()).as(foreign.body()).isEqualTo(403);
    // a patch naming another chunk than it rebuilds
    var misnamed = putPatch(job, sha256(base), patch);
    assertThat(misnamed.statusCode()).isEqualTo(422);
    assertThat(misnamed.body()).contains("bad_chunk").contains("hashes to " + sha);
    // copies past the base stream, and a body that is no patch
    var past =
        putPatch(job, sha, dev.ephemera.archive.ChunkPatch.of(setId, chunk, chunk.length,
            List.of(new dev.ephemera.archive.ChunkPatch.Piece(Long.MAX_VALUE / 2, 2005))).encode(3));
    assertThat(past.statusCode()).isEqualTo(422);
    assertThat(past.body()).contains("whose stream has");
    var garbage = putPatch(job, sha, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
    assertThat(garbage.statusCode()).isEqualTo(422);
    assertThat(garbage.body()).contains("not a chunk patch");
    assertThat(worker.app().store().exists(dev.ephemera.api.JobApi.chunkKey(sha))).isFalse();

    var stored = putPatch(job, sha, patch);
    assertThat(stored.statusCode()).as(stored.body()).isEqualTo(201);
    byte[] frame = worker.app().store().getBytes(dev.ephemera.api.JobApi.chunkKey(sha)).orElseThrow();
    assertThat(dev.ephemera.archive.ChunkFrames.verify(sha, frame)).isEqualTo(chunk);
    assertThat(JSON.readTree(stored.body()).get("stored_size").asLong()).isEqualTo(frame.length);

    // a base chunk the store holds other bytes for than the catalog says: a conflict (the job sends the frame), not a
    // server error the job would retry until its deadline
    var second =
        worker.app().catalog().jdbi().withHandle(h -> h.createQuery(
                "select chunk_sha256, raw_offset from set_chunks where set_id = :s and ord = 1").bind("s", setId)
            .map((rs, ctx) -> java.util.Map.entry(rs.getString(1), rs.getLong(2))).one());
    worker.app().store().put(
        dev.ephemera.api.JobApi.chunkKey(second.getKey()), com.github.luben.zstd.Zstd.compress(new byte[10]));
    byte[] wanted = new byte[1000];
    var fromSecond =
        putPatch(job, sha256(wanted), dev.ephemera.archive.ChunkPatch.of(setId, wanted, wanted.length,
            List.of(new dev.ephemera.archive.ChunkPatch.Piece(second.getValue(), 1000))).encode(3));
    assertThat(fromSecond.statusCode()).as(fromSecond.body()).isEqualTo(409);
    assertThat(fromSecond.body()).contains("base_missing").contains("cannot be a base");
  }
}
