package dev.ephemera.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ephemera.archive.Manifest.FileEntry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterProperty;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A persist that uses the record of the last restore into its directory (reading only what changed since) makes the
 * same manifest and the same chunks as one that reads every file, whatever changed.
 */
class FilesCacheTest {
  /** Small chunks, so a few hundred KB of files span many of them; stream digests left to the store's side. */
  static final ArchiveWriter.Options OPTIONS = ArchiveRoundTripTest.OPTIONS.withStreamDigests(false);

  @TempDir Path tmp;

  private final Trees.TempDirs temps = new Trees.TempDirs();

  @AfterProperty
  void deleteTemporaryDirectories() throws IOException {
    temps.deleteAll();
  }

  /** A set persisted from a tree and restored into {@code target}, with its record. */
  private record Restored(Manifest manifest, FilesCache.Record record, FilesCache cache) {}

  private static Restored persistAndRestore(Path source, Path target, Path cacheDir, InMemoryChunkStore store)
      throws IOException {
    Manifest m = new ArchiveWriter(OPTIONS).write(source, Trees.selection(source), store).manifest();
    Restorer.Result r = new Restorer(Restorer.Options.defaults()).restore(m, store, target);
    FilesCache cache = new FilesCache(cacheDir);
    cache.write("01SET", r.target(), m.chunks(), r.layout());
    store.sets.put("01SET", m.chunks());
    return new Restored(m, cache.read(target).orElseThrow(), cache);
  }

  private static FilesCache.RestoredManifest digestsOf(Manifest m) {
    return () -> FilesCache.Restored.of(m);
  }

  private static Path tree(Path root, long seed, int files) throws IOException {
    Random r = new Random(seed);
    for (int i = 0; i < files; i++) {
      int size = switch (r.nextInt(6)) {
        case 0 -> 0;
        case 1 -> r.nextInt(200);
        case 2 -> 150_000 + r.nextInt(100_000); // spans several chunks
        default -> r.nextInt(12_000);
      };
      byte[] data = new byte[size];
      if (r.nextBoolean()) {
        r.nextBytes(data);
      } else {
        java.util.Arrays.fill(data, (byte) ('a' + r.nextInt(26))); // compressible
      }
      String name = (i % 5 == 0 ? "long-" + "n".repeat(110) + "-" : "") + "file-" + i + (i % 7 == 0 ? "-é" : "");
      Path file = root.resolve("d" + (i % 4) + "/sub" + (i % 3) + "/" + name);
      Trees.write(file, data);
      Files.setLastModifiedTime(file, FileTime.from(Instant.ofEpochSecond(1_700_000_000L + i, i * 1000L)));
    }
    Files.createDirectories(root.resolve("empty/dir"));
    Files.createSymbolicLink(root.resolve("d0/link"), Path.of("sub0/file-3"));
    Files.createLink(root.resolve("d1/hard"), regularFiles(root).get(0));
    return root;
  }

  private static List<Path> regularFiles(Path root) throws IOException {
    try (var s = Files.walk(root)) {
      return s.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).sorted().toList();
    }
  }

  /** Applies {@code count} random changes of every kind a build makes. */
  private static void change(Path root, long seed, int count) throws IOException {
    Random r = new Random(seed);
    for (int i = 0; i < count; i++) {
      List<Path> files = regularFiles(root);
      Path f = files.get(r.nextInt(files.size()));
      switch (r.nextInt(8)) {
        case 0 -> Files.writeString(f, "appended\n", StandardOpenOption.APPEND);
        case 1 -> {
          // same size, other bytes, the old mtime put back: only the ctime tells
          FileTime mtime = Files.getLastModifiedTime(f);
          byte[] data = Files.readAllBytes(f);
          if (data.length > 0) {
            data[r.nextInt(data.length)] ^= 1;
          }
          Files.write(f, data);
          Files.setLastModifiedTime(f, mtime);
        }
        case 2 -> Files.setAttribute(f, "unix:mode", 0600);
        case 3 -> Files.setLastModifiedTime(f, FileTime.from(Instant.ofEpochSecond(1_600_000_000L + i)));
        case 4 -> Files.delete(f);
        case 5 -> Trees.write(f.resolveSibling("new-" + seed + "-" + i), ("new " + i).getBytes(StandardCharsets.UTF_8));
        case 6 -> {
          Path link = root.resolve("d0/link");
          Files.deleteIfExists(link);
          Files.createSymbolicLink(link, Path.of("sub1/file-" + r.nextInt(5)));
        }
        default -> {
          // replaced by another file of the same size and mtime (a new inode)
          FileTime mtime = Files.getLastModifiedTime(f);
          byte[] data = Files.readAllBytes(f);
          Path temp = f.resolveSibling(".tmp-" + i);
          Files.write(temp, data);
          Files.setLastModifiedTime(temp, mtime);
          Files.move(temp, f, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  private static void assertSameSet(ArchiveWriter.Result cached, ArchiveWriter.Result read) {
    assertThat(cached.manifest().files()).isEqualTo(read.manifest().files());
    assertThat(cached.manifest().chunks()).isEqualTo(read.manifest().chunks());
    assertThat(cached.manifest().tarSize()).isEqualTo(read.manifest().tarSize());
    assertThat(cached.manifest().warnings()).isEqualTo(read.manifest().warnings());
  }

  /**
   * With file digests (entries carry each file's sha256, the unread ones the restored manifest's) or without, as a
   * persist writes (the restored manifest fetched without its files; the worker lists the stream and hashes the files).
   */
  @Property(tries = 25)
  void withTheRecordTheManifestAndChunksAreThoseOfReadingEveryFile(
      @ForAll long seed, @ForAll @IntRange(min = 0, max = 12) int changes, @ForAll boolean fileDigests)
      throws IOException {
    Path base = temps.create("ephemera-files-cache");
    InMemoryChunkStore store = new InMemoryChunkStore();
    Restored restored = persistAndRestore(tree(base.resolve("src"), seed, 40), base.resolve("dst"), base.resolve("c"), store);
    Path target = base.resolve("dst");
    change(target, seed, changes);
    ArchiveWriter.Options options = OPTIONS.withTar(OPTIONS.tar().withFileDigests(fileDigests));
    FilesCache.RestoredManifest manifest =
        fileDigests
            ? digestsOf(restored.manifest())
            : () -> new FilesCache.Restored(
                restored.manifest().chunks().stream().map(Manifest.Chunk::sha256).toList(), java.util.Map.of());

    ArchiveWriter.Result cached =
        new ArchiveWriter(options).write(target, Trees.selection(target), store, restored.record(), manifest);
    ArchiveWriter.Result read = new ArchiveWriter(options).write(target, Trees.selection(target), store);

    assertSameSet(cached, read);
    // what the worker lists from the stored stream is what reading every file with digests gives
    StreamListing.Outcome listed = StreamListingTest.listing(cached.manifest(), store);
    assertThat(listed.refusal()).isNull();
    assertThat(listed.listing().entries())
        .isEqualTo(new ArchiveWriter(OPTIONS).write(target, Trees.selection(target), store).manifest().files());
    // every chunk sent as a patch rebuilt exactly that chunk from the restored set's bytes and the changed ones
    assertThat(store.badPatches).hasValue(0);
    assertThat(cached.chunksPatched()).isEqualTo(store.patches.get());
    if (changes == 0) {
      assertThat(cached.filesCacheUsed()).isTrue();
      assertThat(cached.fileBytesRead()).isLessThan(read.fileBytesRead() / 2);
    }
  }

  @Test
  void aFewChangedFilesAreReadAndTheRestIsTheRestoredSetsChunksUnread() throws IOException {
    InMemoryChunkStore store = new InMemoryChunkStore();
    Restored restored = persistAndRestore(tree(tmp.resolve("src"), 7, 200), tmp.resolve("dst"), tmp.resolve("c"), store);
    Path target = tmp.resolve("dst");
    List<Path> files = regularFiles(target);
    for (int i = 0; i < files.size(); i += 50) {
      Files.writeString(files.get(i), "changed\n", StandardOpenOption.APPEND);
    }
    int putsBefore = store.puts.get();

    ArchiveWriter.Result cached =
        new ArchiveWriter(OPTIONS)
            .write(target, Trees.selection(target), store, restored.record(), digestsOf(restored.manifest()));
    ArchiveWriter.Result read = new ArchiveWriter(OPTIONS).write(target, Trees.selection(target), store);

    assertSameSet(cached, read);
    assertThat(cached.filesCacheUsed()).isTrue();
    long fileBytes = read.fileBytesRead();
    assertThat(cached.fileBytesRead()).isLessThan(fileBytes / 4);
    assertThat(cached.chunksUploaded()).isPositive().isEqualTo(store.puts.get() - putsBefore + store.patches.get());
    // the chunks holding a changed file went as patches: with these 16 KiB chunks, the changed files are much of them
    assertThat(store.badPatches).hasValue(0);
    assertThat(cached.chunksPatched()).isPositive().isEqualTo(store.patches.get());
    assertThat(cached.bytesSent()).isLessThan(cached.bytesUploaded());
    assertThat(cached.chunksReused()).isGreaterThan(cached.manifest().chunks().size() / 2);
    // the files read are the changed ones, each with its new digest
    for (int i = 0; i < files.size(); i += 50) {
      String path = target.relativize(files.get(i)).toString();
      String before = restored.manifest().files().stream().filter(f -> f.path().equals(path)).findFirst()
          .orElseThrow().sha256();
      String after = cached.manifest().files().stream().filter(f -> f.path().equals(path)).findFirst()
          .orElseThrow().sha256();
      assertThat(after).isNotEqualTo(before);
    }
  }

  @Test
  void chunksTakenByNameAreAskedAboutInLargeBatchesNotAHalfWindowAtATime() throws IOException {
    InMemoryChunkStore store = new InMemoryChunkStore();
    Restored restored = persistAndRestore(tree(tmp.resolve("src"), 8, 200), tmp.resolve("dst"), tmp.resolve("c"), store);
    Path target = tmp.resolve("dst");
    int chunks = restored.manifest().chunks().size();
    int presentsBefore = store.presents.get();

    ArchiveWriter.Result cached =
        new ArchiveWriter(OPTIONS)
            .write(target, Trees.selection(target), store, restored.record(), digestsOf(restored.manifest()));

    assertSameSet(cached, new ArchiveWriter(OPTIONS).write(target, Trees.selection(target), new InMemoryChunkStore()));
    assertThat(cached.chunksReused()).isGreaterThan(chunks * 3 / 4);
    // chunks known by name hold no memory: the in-flight bound (6 here, asked about 3 at a time) is not theirs
    assertThat(chunks).isGreaterThan(40);
    assertThat(store.presents.get() - presentsBefore).isLessThanOrEqualTo(chunks / OPTIONS.maxInFlightChunks());
  }

  @Test
  void aFileRewrittenWithItsSizeAndMtimePutBackIsReadAgain() throws IOException {
    InMemoryChunkStore store = new InMemoryChunkStore();
    Restored restored = persistAndRestore(tree(tmp.resolve("src"), 3, 30), tmp.resolve("dst"), tmp.resolve("c"), store);
    Path file = regularFiles(tmp.resolve("dst")).stream().filter(p -> p.toFile().length() > 1000).findFirst().orElseThrow();
    String path = tmp.resolve("dst").relativize(file).toString();
    FileTime mtime = Files.getLastModifiedTime(file);
    byte[] data = Files.readAllBytes(file);
    data[0] ^= 0x55;
    Files.write(file, data);
    Files.setLastModifiedTime(file, mtime);

    ArchiveWriter.Result cached =
        new ArchiveWriter(OPTIONS).write(tmp.resolve("dst"), Trees.selection(tmp.resolve("dst")), store,
            restored.record(), digestsOf(restored.manifest()));

    FileEntry entry = cached.manifest().files().stream().filter(f -> f.path().equals(path)).findFirst()
        .orElseThrow();
    assertThat(entry.sha256()).isEqualTo(Sha256.of(data));
  }

  @Test
  void aChunkTheStoreLostFailsTheReuseSoThePersistStartsOverReadingEverything() throws IOException {
    InMemoryChunkStore store = new InMemoryChunkStore();
    Restored restored = persistAndRestore(tree(tmp.resolve("src"), 5, 60), tmp.resolve("dst"), tmp.resolve("c"), store);
    store.frames.remove(restored.manifest().chunks().get(1).sha256());
    Path target = tmp.resolve("dst");

    assertThatThrownBy(
            () -> new ArchiveWriter(OPTIONS).write(target, Trees.selection(target), store, restored.record(),
                digestsOf(restored.manifest())))
        .isInstanceOf(ReusedStream.ReuseFailed.class)
        .hasMessageContaining(restored.manifest().chunks().get(1).sha256());
    ArchiveWriter.Result read = new ArchiveWriter(OPTIONS).write(target, Trees.selection(target), store);
    assertThat(read.manifest().chunks()).extracting(Manifest.Chunk::sha256)
        .contains(restored.manifest().chunks().get(1).sha256());
    assertThat(store.frames).containsKey(restored.manifest().chunks().get(1).sha256());
  }

  @Test
  void theRecordOfAnotherDirectoryIsNotUsed() throws IOException {
    InMemoryChunkStore store = new InMemoryChunkStore();
    Path source = tree(tmp.resolve("src"), 9, 30);
    Restored restored = persistAndRestore(source, tmp.resolve("dst"), tmp.resolve("c"), store);

    assertThat(restored.cache().read(source)).isEmpty();
    ArchiveWriter.Result r = new ArchiveWriter(OPTIONS).write(source, Trees.selection(source), store,
        restored.record(), digestsOf(restored.manifest()));
    assertThat(r.filesCacheUsed()).isFalse();
    assertThat(r.manifest().chunks()).isEqualTo(restored.manifest().chunks());
  }

  @Test
  void aRecordWhoseChunksAreNotThoseOfTheSetItNamesIsRefused() throws IOException {
    InMemoryChunkStore store = new InMemoryChunkStore();
    Restored restored = persistAndRestore(tree(tmp.resolve("src"), 17, 20), tmp.resolve("dst"), tmp.resolve("c"), store);
    Path other = tree(tmp.resolve("other"), 18, 20);
    Manifest otherSet = new ArchiveWriter(OPTIONS).write(other, Trees.selection(other), store).manifest();
    Path target = tmp.resolve("dst");

    assertThatThrownBy(
            () -> new ArchiveWriter(OPTIONS).write(target, Trees.selection(target), store, restored.record(),
                digestsOf(otherSet)))
        .isInstanceOf(ReusedStream.ReuseFailed.class)
        .hasMessageContaining("not those of set 01SET");
  }

  @Test
  void aRecordWrittenUnderAnotherBootIsNotUsed() throws IOException {
    InMemoryChunkStore store = new InMemoryChunkStore();
    Restored restored = persistAndRestore(tree(tmp.resolve("src"), 19, 10), tmp.resolve("dst"), tmp.resolve("c"), store);
    assertThat(restored.cache().read(tmp.resolve("dst"))).isPresent();
    // the same directory of records on another machine, or after it came back from a set or an image
    assertThat(new FilesCache(tmp.resolve("c"), "another-boot").read(tmp.resolve("dst"))).isEmpty();
  }

  @Test
  void aRecordCutShortOrOfAnotherFormatIsNoRecordAtAll() throws IOException {
    InMemoryChunkStore store = new InMemoryChunkStore();
    Restored restored = persistAndRestore(tree(tmp.resolve("src"), 13, 10), tmp.resolve("dst"), tmp.resolve("c"), store);
    Path file;
    try (var files = Files.list(tmp.resolve("c"))) {
      file = files.filter(p -> p.getFileName().toString().startsWith("files-")).findFirst().orElseThrow();
    }
    byte[] whole = Files.readAllBytes(file);
    Files.write(file, java.util.Arrays.copyOf(whole, whole.length / 2));
    assertThat(restored.cache().read(tmp.resolve("dst"))).isEmpty();
    whole[0] ^= 1;
    Files.write(file, whole);
    assertThat(restored.cache().read(tmp.resolve("dst"))).isEmpty();
    Files.delete(file);
    assertThat(restored.cache().read(tmp.resolve("dst"))).isEmpty();
  }

  @Test
  void theLayoutARestoreRecordsIsWhereEachEntrySitsInTheStream() throws IOException {
    InMemoryChunkStore store = new InMemoryChunkStore();
    Restored restored = persistAndRestore(tree(tmp.resolve("src"), 11, 20), tmp.resolve("dst"), tmp.resolve("c"), store);
    List<FilesCache.Entry> entries = restored.record().layout().entries();
    assertThat(entries).extracting(FilesCache.Entry::path)
        .containsExactlyElementsOf(restored.manifest().files().stream().map(FileEntry::path).toList());
    assertThat(entries.get(0).offset()).isZero();
    for (int i = 1; i < entries.size(); i++) {
      assertThat(entries.get(i).offset()).isGreaterThan(entries.get(i - 1).offset());
      assertThat(entries.get(i).offset() % TarFormat.BLOCK).isZero();
    }
    assertThat(restored.record().layout().endOffset()).isGreaterThan(entries.get(entries.size() - 1).offset())
        .isLessThan(restored.manifest().tarSize());
    assertThat(restored.record().setId()).isEqualTo("01SET");
    assertThat(restored.record().chunks()).extracting(Manifest.Chunk::sha256)
        .containsExactlyElementsOf(restored.manifest().chunks().stream().map(Manifest.Chunk::sha256).toList());
  }
}
