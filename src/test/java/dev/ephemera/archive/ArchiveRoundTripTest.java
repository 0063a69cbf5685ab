package dev.ephemera.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.Zstd;
import dev.ephemera.archive.Manifest.Chunk;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterProperty;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArchiveRoundTripTest {
  /** Small chunks so that modest trees span many of them. */
  static final ArchiveWriter.Options OPTIONS =
      new ArchiveWriter.Options(new FastCdc.Params(4096, 16384, 65536), 3, 2, 3, 6, TarWriter.Options.DEFAULTS);

  // ---- property: random trees round-trip exactly ----

  /** One thing to create in a random tree. */
  record Spec(String path, int kind, int size, int mode, Instant mtime, long seed) {}

  @Provide
  Arbitrary<List<Spec>> trees() {
    Arbitrary<String> component =
        Arbitraries.of("a", "b c", "é", "日本語", "🙂", ".hidden", "x-y.txt", "Z", "ß/".replace("/", ""),
            "long-" + "n".repeat(120), "tab\there", "new\nline");
    Arbitrary<String> path = component.list().ofMinSize(1).ofMaxSize(3).map(l -> String.join("/", l));
    Arbitrary<Integer> kind = Arbitraries.frequency(
        net.jqwik.api.Tuple.of(6, 0), // file
        net.jqwik.api.Tuple.of(1, 1), // empty directory
        net.jqwik.api.Tuple.of(1, 2), // symlink to an earlier file
        net.jqwik.api.Tuple.of(1, 3)); // hardlink to an earlier file
    Arbitrary<Integer> size = Arbitraries.frequency(
        net.jqwik.api.Tuple.of(2, 0), net.jqwik.api.Tuple.of(5, 3000), net.jqwik.api.Tuple.of(1, 300_000))
        .flatMap(max -> Arbitraries.integers().between(0, max));
    Arbitrary<Integer> mode = Arbitraries.of(0644, 0600, 0755, 0400, 0750, 01755);
    Arbitrary<Instant> mtime = Combinators.combine(
            Arbitraries.longs().between(0, 2_000_000_000L), Arbitraries.integers().between(0, 999_999_999))
        .as(Instant::ofEpochSecond);
    Arbitrary<Spec> spec =
        Combinators.combine(path, kind, size, mode, mtime, Arbitraries.longs()).as(Spec::new);
    return spec.list().ofMinSize(0).ofMaxSize(25);
  }

  private final Trees.TempDirs temps = new Trees.TempDirs();

  @AfterProperty
  void deleteTemporaryDirectories() throws IOException {
    temps.deleteAll();
  }

  private Path tempDir() throws IOException {
    return temps.create("ephemera-roundtrip");
  }

  @Property(tries = 40)
  void randomTreesComeBackIdentical(@ForAll("trees") List<Spec> specs) throws IOException {
    Path work = tempDir();
    Path source = work.resolve("source");
    List<String> selection = build(source, specs);

    InMemoryChunkStore store = new InMemoryChunkStore();
    ArchiveWriter.Result written = new ArchiveWriter(OPTIONS).write(source, selection, store);
    assertThat(written.manifest().warnings()).isEmpty();

    Path target = work.resolve("restored");
    new Restorer(Restorer.Options.defaults()).restore(Manifest.fromJson(written.manifest().toJson()), store, target);

    assertThat(Trees.snapshot(target)).isEqualTo(Trees.snapshot(source));
    // the worker lists the same entries from the stored chunks as the writer did from the files
    StreamListing.Outcome listed = StreamListingTest.listing(written.manifest(), store);
    assertThat(listed.refusal()).isNull();
    assertThat(listed.listing().entries()).isEqualTo(written.manifest().files());
  }

  /** Creates the specs that fit together (a path cannot be both a file and a directory). */
  private static List<String> build(Path root, List<Spec> specs) throws IOException {
    Files.createDirectories(root);
    Map<String, Integer> made = new TreeMap<>(EntryNames.ORDER.reversed()); // deepest last-sorted first
    List<String> files = new ArrayList<>();
    List<String> selection = new ArrayList<>();
    for (Spec s : specs) {
      if (!fits(s.path(), made)) {
        continue;
      }
      if ((s.kind() == 2 || s.kind() == 3) && files.isEmpty()) {
        continue; // nothing to link to yet
      }
      Path p = root.resolve(s.path());
      Files.createDirectories(p.getParent());
      switch (s.kind()) {
        case 1 -> Files.createDirectory(p);
        case 2, 3 -> {
          String to = files.get((int) Math.floorMod(s.seed(), (long) files.size()));
          if (s.kind() == 2) {
            Path rel = p.getParent().relativize(root.resolve(to));
            Files.createSymbolicLink(p, rel);
          } else {
            Files.createLink(p, root.resolve(to));
          }
        }
        default -> {
          byte[] data = new byte[s.size()];
          new Random(s.seed()).nextBytes(data);
          Files.write(p, data);
          Files.setAttribute(p, "unix:mode", s.mode());
          files.add(s.path());
        }
      }
      made.put(s.path(), s.kind());
      for (String parent = EntryNames.parent(s.path()); parent != null; parent = EntryNames.parent(parent)) {
        made.putIfAbsent(parent, 1);
      }
      selection.add(s.path());
    }
    // Times last, children before parents, since creating children moves a directory's mtime.
    Map<String, Instant> times = new TreeMap<>(EntryNames.ORDER.reversed());
    for (Spec s : specs) {
      times.putIfAbsent(s.path(), s.mtime());
    }
    for (String p : made.keySet()) {
      Instant t = times.getOrDefault(p, Instant.ofEpochSecond(1_600_000_000L, 5));
      if (made.get(p) != 3) { // a hardlink shares its file's inode and so its time
        Files.getFileAttributeView(root.resolve(p), BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
            .setTimes(FileTime.from(t), null, null);
      }
    }
    // Selection as output rules would give it: files and links, plus directories with nothing in
    // them (a directory that only held a rejected spec is still listed: harmless).
    List<String> out = new ArrayList<>();
    for (String p : selection) {
      boolean isDir = Files.isDirectory(root.resolve(p), LinkOption.NOFOLLOW_LINKS);
      try (var children = isDir ? Files.list(root.resolve(p)) : java.util.stream.Stream.<Path>empty()) {
        if (!isDir || children.findAny().isEmpty()) {
          out.add(p);
        }
      }
    }
    return out;
  }

  private static boolean fits(String path, Map<String, Integer> made) {
    if (made.containsKey(path)) {
      return false;
    }
    for (String parent = EntryNames.parent(path); parent != null; parent = EntryNames.parent(parent)) {
      Integer k = made.get(parent);
      if (k != null && k != 1) {
        return false;
      }
    }
    return true;
  }

  // ---- examples ----

  @TempDir Path tmp;

  private static Path randomTree(Path root, int files, int size, long seed) throws IOException {
    Random r = new Random(seed);
    for (int i = 0; i < files; i++) {
      byte[] data = new byte[size];
      r.nextBytes(data);
      Trees.write(root.resolve("dir" + (i % 7) + "/file-" + i + ".bin"), data);
      Files.setLastModifiedTime(root.resolve("dir" + (i % 7) + "/file-" + i + ".bin"),
          FileTime.from(Instant.ofEpochSecond(1_700_000_000L + i)));
    }
    return root;
  }

  @Test
  void persistingAnUnchangedTreeAgainUploadsNothingAndGivesTheSameManifest() throws IOException {
    Path root = randomTree(tmp.resolve("t"), 60, 10_000, 1);
    InMemoryChunkStore store = new InMemoryChunkStore();
    var first = new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), store);
    var second = new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), store);

    assertThat(first.chunksUploaded()).isEqualTo(first.manifest().chunks().size()).isGreaterThan(10);
    assertThat(second.chunksUploaded()).isZero();
    assertThat(second.bytesUploaded()).isZero();
    assertThat(second.manifest().chunks()).isEqualTo(first.manifest().chunks());
    assertThat(second.manifest().tarSha256()).isEqualTo(first.manifest().tarSha256());
    // Reused chunks were never seen compressed: the archive digest is left for the store's side.
    assertThat(first.manifest().archiveSha256()).isNotNull();
    assertThat(second.manifest().archiveSha256()).isNull();
    assertThat(ArchiveDigest.compute(second.manifest(), store).archiveSha256())
        .isEqualTo(first.manifest().archiveSha256());
  }

  @Test
  void withoutStreamDigestsTheSameChunksAreWrittenAndTheDigestsLeftToTheStoresSide() throws IOException {
    Path root = randomTree(tmp.resolve("t"), 40, 10_000, 5);
    var withDigests = new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), new InMemoryChunkStore());
    InMemoryChunkStore store = new InMemoryChunkStore();
    var without = new ArchiveWriter(OPTIONS.withStreamDigests(false)).write(root, Trees.selection(root), store);

    assertThat(without.manifest().tarSha256()).isNull();
    assertThat(without.manifest().archiveSha256()).isNull();
    assertThat(without.manifest().chunks()).isEqualTo(withDigests.manifest().chunks());
    assertThat(without.manifest().files()).isEqualTo(withDigests.manifest().files());
    // What the store's side computes from the stored chunks is what the writer would have.
    Manifest filledIn = ArchiveDigest.compute(without.manifest(), store);
    assertThat(filledIn.tarSha256()).isEqualTo(withDigests.manifest().tarSha256());
    assertThat(filledIn.archiveSha256()).isEqualTo(withDigests.manifest().archiveSha256());
  }

  @Test
  void aTreeThatBarelyChangedReusesAlmostAllChunks() throws IOException {
    Path root = randomTree(tmp.resolve("t"), 200, 8_000, 2);
    InMemoryChunkStore store = new InMemoryChunkStore();
    var first = new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), store);

    // Change 1% of the files: one rewritten, one grown.
    Files.write(root.resolve("dir3/file-59.bin"), new byte[8_000]);
    Files.write(root.resolve("dir1/file-120.bin"), "more".getBytes(StandardCharsets.UTF_8),
        java.nio.file.StandardOpenOption.APPEND);
    var second = new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), store);

    int chunks = second.manifest().chunks().size();
    assertThat(chunks).isGreaterThan(40);
    assertThat(second.chunksUploaded()).isBetween(1L, 8L);
    assertThat(second.bytesUploaded()).isLessThan(first.bytesUploaded() / 5);
    assertThat(second.chunksReused()).isEqualTo(chunks - second.chunksUploaded());
  }

  @Test
  void theConcatenatedFramesAreAPlainTarZstThatZstdAndGnuTarRead() throws Exception {
    Path root = randomTree(tmp.resolve("t"), 30, 20_000, 3);
    Trees.write(root.resolve("ünïcödé/" + "deep-".repeat(30) + "name"), "x".getBytes(StandardCharsets.UTF_8));
    InMemoryChunkStore store = new InMemoryChunkStore();
    Manifest m = new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), store).manifest();
    var archive = new ByteArrayOutputStream();
    for (Chunk c : m.chunks()) {
      archive.write(store.fetch(c.sha256()));
    }
    Files.write(tmp.resolve("set.tar.zst"), archive.toByteArray());
    Files.createDirectories(tmp.resolve("out"));

    Trees.sh(tmp, "zstd -dc set.tar.zst | tar -x -C out");
    String tarSha = Trees.sh(tmp, "zstd -dc set.tar.zst | sha256sum").substring(0, 64);
    String archiveSha = Trees.sh(tmp, "sha256sum set.tar.zst").substring(0, 64);

    assertThat(Trees.snapshot(tmp.resolve("out"))).isEqualTo(Trees.snapshot(root));
    assertThat(tarSha).isEqualTo(m.tarSha256());
    assertThat(archiveSha).isEqualTo(m.archiveSha256());
    assertThat((long) archive.size()).isEqualTo(m.archiveSize());
    for (Chunk c : m.chunks()) {
      assertThat(Zstd.getFrameContentSize(store.fetch(c.sha256()))).isEqualTo(c.rawSize());
    }
  }

  @Test
  void unpackReadsTheDownloadableArchiveAndReportsItsDigests() throws IOException {
    Path root = randomTree(tmp.resolve("t"), 20, 30_000, 4);
    InMemoryChunkStore store = new InMemoryChunkStore();
    Manifest m = new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), store).manifest();
    var archive = new ByteArrayOutputStream();
    for (Chunk c : m.chunks()) {
      archive.write(store.fetch(c.sha256()));
    }

    Restorer.Result r =
        Restorer.unpack(new ByteArrayInputStream(archive.toByteArray()), tmp.resolve("out"), Limits.DEFAULTS);

    assertThat(Trees.snapshot(tmp.resolve("out"))).isEqualTo(Trees.snapshot(root));
    assertThat(r.tarSha256()).isEqualTo(m.tarSha256());
    assertThat(r.tarSize()).isEqualTo(m.tarSize());
    assertThat(r.archiveSha256()).isEqualTo(m.archiveSha256());
    assertThat(r.archiveSize()).isEqualTo(m.archiveSize());
    try (var s = Files.list(tmp)) {
      assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("t", "out");
    }
  }

  @Test
  void largeFilesAreRestoredStraightFromTheChunkBuffersAcrossChunkBoundaries() throws IOException {
    // Files over the pooled-file size are written from views of the chunks' own buffers (ChunkStream.lend); with
    // 4-64 KiB chunks a 3 MiB file spans dozens of chunks, so every view ends at a chunk boundary or the file's end.
    Path root = tmp.resolve("t");
    Random r = new Random(13);
    for (int size : new int[] {SafeExtractor.POOLED_FILE_MAX + 1, 3 << 20, (2 << 20) + 12_345}) {
      byte[] data = new byte[size];
      r.nextBytes(data);
      for (int i = 0; i < size; i += 4096) {
        data[i] = 0; // some structure, so the frames are not all the same size
      }
      Trees.write(root.resolve("big-" + size + ".bin"), data);
    }
    Trees.write(root.resolve("small.txt"), "between the large ones".getBytes(StandardCharsets.UTF_8));
    InMemoryChunkStore store = new InMemoryChunkStore();
    Manifest m = new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), store).manifest();
    assertThat(m.chunks().size()).isGreaterThan(100);

    Restorer.Result res = new Restorer(Restorer.Options.defaults()).restore(m, store, tmp.resolve("out"));

    assertThat(res.fileBytes()).isEqualTo((long) SafeExtractor.POOLED_FILE_MAX + 1 + (3 << 20) + (2 << 20) + 12_345
        + "between the large ones".length());
    assertThat(Trees.snapshot(tmp.resolve("out"))).isEqualTo(Trees.snapshot(root));
  }

  @Test
  void aCorruptChunkInsideALargeFileIsRefusedAndTheTargetIsLeftAsItWas() throws IOException {
    Path root = tmp.resolve("t");
    byte[] data = new byte[4 << 20];
    new Random(14).nextBytes(data);
    Trees.write(root.resolve("big.bin"), data);
    InMemoryChunkStore store = new InMemoryChunkStore();
    Manifest m = new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), store).manifest();
    Chunk victim = m.chunks().get(m.chunks().size() * 3 / 4);
    byte[] raw = Zstd.decompress(store.fetch(victim.sha256()), victim.rawSize());
    raw[7] ^= 1;
    store.frames.put(victim.sha256(), Zstd.compress(raw));
    Path target = tmp.resolve("target");

    assertThatThrownBy(() -> new Restorer(Restorer.Options.defaults()).restore(m, store, target))
        .isInstanceOfSatisfying(ArchiveException.class, e -> {
          assertThat(e.reason()).isEqualTo(ArchiveException.Reason.HASH_MISMATCH);
          assertThat(e.entry()).isEqualTo(victim.sha256());
        });
    assertThat(target).doesNotExist();
    try (var s = Files.list(tmp)) {
      assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("t");
    }
  }

  @Test
  void aChunkThatDoesNotMatchItsHashIsRefusedAndTheTargetIsLeftAsItWas() throws IOException {
    Path root = randomTree(tmp.resolve("t"), 20, 30_000, 5);
    InMemoryChunkStore store = new InMemoryChunkStore();
    Manifest m = new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), store).manifest();
    Chunk victim = m.chunks().get(m.chunks().size() / 2);
    byte[] raw = Zstd.decompress(store.fetch(victim.sha256()), victim.rawSize());
    raw[100] ^= 1;
    store.frames.put(victim.sha256(), Zstd.compress(raw));
    Path target = tmp.resolve("target");
    Trees.write(target.resolve("dir0/file-0.bin"), "old".getBytes(StandardCharsets.UTF_8));
    Map<String, String> before = Trees.snapshot(target);

    assertThatThrownBy(() -> new Restorer(Restorer.Options.defaults()).restore(m, store, target))
        .isInstanceOfSatisfying(ArchiveException.class, e -> {
          assertThat(e.reason()).isEqualTo(ArchiveException.Reason.HASH_MISMATCH);
          assertThat(e.entry()).isEqualTo(victim.sha256());
        });

    assertThat(Trees.snapshot(target)).isEqualTo(before);
    try (var s = Files.list(tmp)) {
      assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("t", "target");
    }
  }

  @Test
  void aMissingChunkFailsTheRestoreWithoutTouchingTheTarget() throws IOException {
    Path root = randomTree(tmp.resolve("t"), 10, 30_000, 6);
    InMemoryChunkStore store = new InMemoryChunkStore();
    Manifest m = new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), store).manifest();
    store.frames.remove(m.chunks().get(m.chunks().size() - 1).sha256());
    Path target = tmp.resolve("target");

    assertThatThrownBy(() -> new Restorer(Restorer.Options.defaults()).restore(m, store, target))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("missing from the store");
    assertThat(target).doesNotExist();
  }

  @Test
  void aStalledStoreTurnsIntoAnErrorAtTheDeadlineNotAHang() throws IOException {
    Path root = randomTree(tmp.resolve("t"), 3, 1000, 7);
    InMemoryChunkStore store = new InMemoryChunkStore();
    Manifest m = new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), store).manifest();
    ChunkSource stalled = sha -> {
      try {
        Thread.sleep(60_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      throw new IOException("interrupted");
    };
    var opts = new Restorer.Options(Limits.DEFAULTS, 2, 2, java.time.Duration.ofMillis(300));

    long start = System.nanoTime();
    assertThatThrownBy(() -> new Restorer(opts).restore(m, stalled, tmp.resolve("target")))
        .hasMessageContaining("deadline");
    assertThat(System.nanoTime() - start).isLessThan(10_000_000_000L);
    assertThat(tmp.resolve("target")).doesNotExist();
  }

  @Test
  void restoringOntoAnExistingTargetReplacesTheSetsFilesAndKeepsOthers() throws IOException {
    Path root = tmp.resolve("t");
    Trees.write(root.resolve("a.txt"), "new a".getBytes(StandardCharsets.UTF_8));
    Trees.write(root.resolve("sub/b.txt"), "new b".getBytes(StandardCharsets.UTF_8));
    Trees.write(root.resolve("sub/c.txt"), "c".getBytes(StandardCharsets.UTF_8));
    Files.createSymbolicLink(root.resolve("sub/link"), Path.of("c.txt"));
    InMemoryChunkStore store = new InMemoryChunkStore();
    Manifest m = new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), store).manifest();

    Path target = tmp.resolve("target");
    Trees.write(target.resolve("a.txt"), "old a".getBytes(StandardCharsets.UTF_8));
    Trees.write(target.resolve("sub/keep.txt"), "mine".getBytes(StandardCharsets.UTF_8));
    Files.createSymbolicLink(target.resolve("sub/b.txt"), tmp.resolve("elsewhere")); // replaced, not followed
    Trees.write(target.resolve("sub/link"), "was a file".getBytes(StandardCharsets.UTF_8));

    new Restorer(Restorer.Options.defaults()).restore(m, store, target);

    Map<String, String> expected = new TreeMap<>(Trees.snapshot(root));
    expected.put("sub/keep.txt", Trees.describe(target.resolve("sub/keep.txt"), true));
    expected.put("sub", Trees.snapshot(target).get("sub")); // its mtime moved when keep.txt was kept
    assertThat(Trees.snapshot(target)).isEqualTo(expected);
    assertThat(tmp.resolve("elsewhere")).doesNotExist();
  }

  @Test
  void aSourceReadingIntoTheRestoresRecycledArraysRestoresTheSameTreeAndCorruptionIsStillRefused() throws IOException {
    Path root = randomTree(tmp.resolve("t"), 80, 20_000, 6);
    InMemoryChunkStore store = new InMemoryChunkStore();
    Manifest m = new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), store).manifest();
    assertThat(m.chunks()).hasSizeGreaterThan(20);
    java.util.Map<byte[], Integer> handedOut = new java.util.IdentityHashMap<>();
    java.util.concurrent.atomic.AtomicBoolean corrupt = new java.util.concurrent.atomic.AtomicBoolean();
    ChunkSource recycling =
        new ChunkSource() {
          @Override
          public byte[] fetch(String sha256) {
            return store.fetch(sha256);
          }

          @Override
          public Frame fetch(String sha256, java.util.function.IntFunction<byte[]> arrays) {
            byte[] frame = store.fetch(sha256);
            byte[] into = arrays.apply(frame.length);
            synchronized (handedOut) {
              handedOut.merge(into, 1, Integer::sum);
            }
            java.util.Arrays.fill(into, (byte) 0x5a); // what a recycled array holds past the frame is not the frame's
            System.arraycopy(frame, 0, into, 0, frame.length);
            if (corrupt.get()) {
              into[frame.length / 2] ^= 1;
            }
            return new Frame(into, frame.length);
          }
        };
    var opts = new Restorer.Options(Limits.DEFAULTS, 2, 4, java.time.Duration.ofMinutes(1));

    Path target = tmp.resolve("target");
    new Restorer(opts).restore(m, recycling, target);
    assertThat(Trees.snapshot(target)).isEqualTo(Trees.snapshot(root));
    assertThat(handedOut.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(m.chunks().size());
    assertThat(handedOut.size()).as("arrays reused across fetches").isLessThan(m.chunks().size() / 2);

    corrupt.set(true);
    Path second = tmp.resolve("second");
    assertThatThrownBy(() -> new Restorer(opts).restore(m, recycling, second))
        .isInstanceOf(ArchiveException.class);
    assertThat(second).doesNotExist();
  }

  @Test
  void readOnlyDirectoriesAreRestoredWithTheirModes() throws IOException {
    Path root = tmp.resolve("t");
    Trees.write(root.resolve("ro/inner/file"), "x".getBytes(StandardCharsets.UTF_8));
    Files.setAttribute(root.resolve("ro/inner"), "unix:mode", 0555);
    Files.setAttribute(root.resolve("ro"), "unix:mode", 0500);
    try {
      InMemoryChunkStore store = new InMemoryChunkStore();
      Manifest m = new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), store).manifest();
      Path target = tmp.resolve("target");
      new Restorer(Restorer.Options.defaults()).restore(m, store, target);
      assertThat(Trees.snapshot(target)).isEqualTo(Trees.snapshot(root));
      Restorer.deleteTree(target);
    } finally {
      Restorer.deleteTree(root);
    }
  }

  @Test
  void theManifestRoundTripsThroughSnakeCaseJson() throws IOException {
    Path root = randomTree(tmp.resolve("t"), 5, 100, 8);
    Files.createSymbolicLink(root.resolve("link"), Path.of("dir0/file-0.bin"));
    Manifest m = new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), new InMemoryChunkStore()).manifest();

    String json = m.toJson();

    assertThat(Manifest.fromJson(json)).isEqualTo(m);
    assertThat(json)
        .contains("\"version\":1", "\"tar_sha256\":", "\"archive_sha256\":", "\"raw_size\":", "\"stored_size\":",
            "\"file_count\":6", "\"link_target\":\"dir0/file-0.bin\"", "\"type\":\"symlink\"", "\"type\":\"dir\"",
            "\"root\":\"" + root.toAbsolutePath() + "\"");
    assertThat(Manifest.fromJson(json.replace("{\"version\":1", "{\"unknown_field\":true,\"version\":1")))
        .isEqualTo(m);
    assertThatThrownBy(() -> Manifest.fromJson(json.replace("\"tar_size\":", "\"tar_size\":1")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Manifest.fromJson(json.replace("\"root\":\"/", "\"root\":\"")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("absolute");
  }

  @Test
  void aFileChangingWhileReadFailsThePersistUnlessThePolicyToleratesIt() throws IOException {
    Path root = Path.of("/proc/self");
    var strict = new ArchiveWriter(OPTIONS);
    assertThatThrownBy(() -> strict.write(root, List.of("status"), new InMemoryChunkStore()))
        .isInstanceOf(FileChangedException.class);

    var lenient = new ArchiveWriter(OPTIONS.withTar(new TarWriter.Options(true, FileChange.Policy.WARN)));
    Manifest m = lenient.write(root, List.of("status"), new InMemoryChunkStore()).manifest();
    assertThat(m.warnings()).singleElement().asString().contains("status: changed while being read");
  }

  @Test
  void framesComeInRecycledArraysThatHoldEachChunkUntilItsPutReturns() throws IOException {
    // A sink that sends the frame as it is (the CLI's): it sees the frame in a reused array, with its length, and the
    // bytes must be that chunk's until put returns. Checked here by decompressing and hashing inside put.
    Path root = randomTree(tmp.resolve("t"), 60, 20_000, 12);
    java.util.Set<byte[]> arrays = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    java.util.List<String> wrong = new java.util.concurrent.CopyOnWriteArrayList<>();
    InMemoryChunkStore kept = new InMemoryChunkStore();
    ChunkSink sending = new ChunkSink() {
      @Override
      public Map<String, Long> present(java.util.Collection<String> sha256s) {
        return Map.of();
      }

      @Override
      public void put(String sha256, byte[] frame, int rawSize) {
        throw new AssertionError("the writer gives frames with their length");
      }

      @Override
      public void put(String sha256, byte[] frame, int frameLength, int rawSize) {
        synchronized (arrays) {
          arrays.add(frame);
        }
        byte[] raw = Zstd.decompress(java.util.Arrays.copyOf(frame, frameLength), rawSize);
        if (!Sha256.of(raw, 0, raw.length).equals(sha256)) {
          wrong.add(sha256);
        }
        kept.put(sha256, java.util.Arrays.copyOf(frame, frameLength), rawSize);
      }
    };

    Manifest m = new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), sending).manifest();

    assertThat(wrong).isEmpty();
    assertThat(m.chunks().size()).isGreaterThan(40);
    // Never more arrays than frames can be out at once (the pool keeps every spare): the window's chunks and the
    // archive digest's queue.
    assertThat(arrays.size()).isLessThanOrEqualTo(2 * OPTIONS.maxInFlightChunks() + 1);
    Manifest stored = ArchiveDigest.compute(m.withDigests(null, null), kept);
    assertThat(stored.archiveSha256()).isEqualTo(m.archiveSha256());
    assertThat(stored.tarSha256()).isEqualTo(m.tarSha256());
    Restorer.Result r = new Restorer(Restorer.Options.defaults()).restore(m, kept, tmp.resolve("out"));
    assertThat(r.tarSize()).isEqualTo(m.tarSize());
    assertThat(Trees.snapshot(tmp.resolve("out"))).isEqualTo(Trees.snapshot(root));
  }

  @Test
  void aFailingSinkFailsThePersistWithItsOwnErrorInsteadOfHanging() throws IOException {
    Path root = randomTree(tmp.resolve("t"), 50, 20_000, 9);
    ChunkSink broken = new ChunkSink() {
      @Override
      public Map<String, Long> present(java.util.Collection<String> sha256s) {
        return Map.of();
      }

      @Override
      public void put(String sha256, byte[] frame, int rawSize) throws IOException {
        throw new IOException("store unavailable");
      }
    };

    assertThatThrownBy(() -> new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), broken))
        .isInstanceOf(IOException.class)
        .hasMessage("store unavailable");
  }

  @Test
  void aSlowSinkHoldsBackTheWriterSoMemoryStaysBounded() throws Exception {
    Path root = randomTree(tmp.resolve("t"), 100, 20_000, 10);
    var release = new java.util.concurrent.CountDownLatch(1);
    java.util.Set<String> asked = java.util.concurrent.ConcurrentHashMap.newKeySet();
    java.util.concurrent.atomic.AtomicInteger putsStarted = new java.util.concurrent.atomic.AtomicInteger();
    ChunkSink slow = new ChunkSink() {
      @Override
      public Map<String, Long> present(java.util.Collection<String> sha256s) {
        asked.addAll(sha256s);
        return Map.of();
      }

      @Override
      public void put(String sha256, byte[] frame, int rawSize) throws IOException {
        putsStarted.incrementAndGet();
        try {
          release.await();
        } catch (InterruptedException e) {
          throw new java.io.InterruptedIOException();
        }
      }
    };
    var writing = java.util.concurrent.Executors.newSingleThreadExecutor();
    try {
      var result = writing.submit(() -> new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), slow));

      // Nothing can leave the window while puts hang, so no more than maxInFlightChunks are read.
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).until(() -> putsStarted.get() > 0);
      org.awaitility.Awaitility.await()
          .during(java.time.Duration.ofMillis(500))
          .atMost(java.time.Duration.ofSeconds(5))
          .until(() -> asked.size() <= OPTIONS.maxInFlightChunks());
      release.countDown();

      Manifest m = result.get(60, java.util.concurrent.TimeUnit.SECONDS).manifest();
      assertThat(m.chunks().size()).isGreaterThan(3 * OPTIONS.maxInFlightChunks());
      assertThat(asked).hasSize((int) m.chunks().stream().map(Chunk::sha256).distinct().count());
    } finally {
      release.countDown();
      writing.shutdownNow();
    }
  }

  /**
   * Uploads and fetches run in parallel: the store holds each put, then each fetch, until another one is in flight (at
   * most 0.2 s, so a last lone one goes through) and records the most it saw at once; one at a time, that is 1.
   */
  @Test
  void chunksAreUploadedAndFetchedSeveralAtATime() throws IOException {
    Path root = randomTree(tmp.resolve("t"), 60, 20_000, 12);
    java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger most = new java.util.concurrent.atomic.AtomicInteger();
    Runnable meet =
        () -> {
          most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
          long until = System.nanoTime() + 200_000_000L;
          while (inFlight.get() < 2 && System.nanoTime() < until) {
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
          }
          most.accumulateAndGet(inFlight.get(), Math::max);
          inFlight.decrementAndGet();
        };
    MemoryChunks store =
        new MemoryChunks() {
          @Override
          public void put(String sha256, byte[] frame, int rawSize) {
            meet.run();
            super.put(sha256, frame, rawSize);
          }

          @Override
          public byte[] fetch(String sha256) {
            meet.run();
            return super.fetch(sha256);
          }
        };
    Manifest m = new ArchiveWriter(OPTIONS).write(root, Trees.selection(root), store).manifest();
    assertThat(m.chunks().size()).isGreaterThan(10);
    assertThat(most.getAndSet(0)).as("puts in flight at once").isGreaterThanOrEqualTo(2);
    new Restorer(Restorer.Options.defaults()).restore(m, store, tmp.resolve("back"));
    assertThat(most).as("fetches in flight at once").hasValueGreaterThanOrEqualTo(2);
    assertThat(Trees.snapshot(tmp.resolve("back"))).isEqualTo(Trees.snapshot(root));
  }

  static {
    // Deep-first comparator used above must order "a/b" before "a".
    assert EntryNames.ORDER.reversed().compare("a/b", "a") < 0;
  }

  @SuppressWarnings("unused")
  private static final Comparator<String> UNUSED = EntryNames.ORDER;
}
