package dev.ephemera.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ephemera.archive.Manifest.EntryType;
import dev.ephemera.archive.Manifest.FileEntry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TarWriterTest {
  @TempDir Path tmp;

  private static final Instant T1 = Instant.parse("2024-03-01T12:34:56.123456789Z");
  private static final String LONG_NAME = "d/" + "long-component-".repeat(8) + "end.txt"; // > 100 bytes
  private static final String UNICODE = "ünïcödé/日本語 ファイル🙂.txt";

  private Path sampleTree(Path root) throws IOException {
    Trees.write(root.resolve("b.txt"), "bee".getBytes(StandardCharsets.UTF_8));
    Trees.write(root.resolve("a/z.bin"), new byte[1000]);
    Trees.write(root.resolve(LONG_NAME), "long".getBytes(StandardCharsets.UTF_8));
    Trees.write(root.resolve(UNICODE), "unicode".getBytes(StandardCharsets.UTF_8));
    Trees.write(root.resolve("exec.sh"), "#!/bin/sh\n".getBytes(StandardCharsets.UTF_8));
    Files.createDirectories(root.resolve("empty"));
    Files.setAttribute(root.resolve("exec.sh"), "unix:mode", 0750);
    Files.setAttribute(root.resolve("b.txt"), "unix:mode", 0604);
    try (var s = Files.walk(root)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        Files.setLastModifiedTime(p, FileTime.from(T1));
      }
    }
    return root;
  }

  private static byte[] tar(Path root, List<String> paths) throws IOException {
    var out = new ByteArrayOutputStream();
    new TarWriter(TarWriter.Options.DEFAULTS).write(root, paths, out);
    return out.toByteArray();
  }

  @Test
  void theSameTreeGivesIdenticalBytesWhereverItIsAndWhateverTheInputOrder() throws IOException {
    Path one = sampleTree(tmp.resolve("one"));
    Path two = sampleTree(tmp.resolve("two"));
    List<String> paths = Trees.selection(one);
    List<String> reversed = new java.util.ArrayList<>(paths);
    java.util.Collections.reverse(reversed);

    byte[] first = tar(one, paths);
    assertThat(tar(one, paths)).isEqualTo(first);
    assertThat(tar(two, reversed)).isEqualTo(first);
    assertThat(first.length % TarFormat.RECORD).isZero();
  }

  @Test
  void entriesAreSortedByUtf8BytesWithEveryParentDirectoryListed() throws IOException {
    Path root = sampleTree(tmp.resolve("t"));
    var result = new TarWriter(TarWriter.Options.DEFAULTS).write(root, Trees.selection(root), new ByteArrayOutputStream());

    List<String> names = result.entries().stream().map(FileEntry::path).toList();
    assertThat(names)
        .containsExactly("a", "a/z.bin", "b.txt", "d", LONG_NAME, "empty", "exec.sh", "ünïcödé", UNICODE);
    FileEntry bee = result.entries().get(2);
    assertThat(bee.type()).isEqualTo(EntryType.FILE);
    assertThat(bee.size()).isEqualTo(3);
    assertThat(bee.mode()).isEqualTo(0604);
    assertThat(bee.mtime()).isEqualTo(T1);
    assertThat(bee.sha256()).isEqualTo(Sha256.of("bee".getBytes(StandardCharsets.UTF_8)));
    assertThat(result.entries().get(0).type()).isEqualTo(EntryType.DIR);
  }

  @Test
  void gnuTarListsLongAndUnicodeNamesWithNumericOwnerZero() throws Exception {
    Path root = sampleTree(tmp.resolve("t"));
    Files.write(tmp.resolve("t.tar"), tar(root, Trees.selection(root)));

    String listing = Trees.sh(tmp, "tar --numeric-owner -tvf t.tar");
    assertThat(listing).contains(LONG_NAME).contains(UNICODE).contains("0/0").doesNotContain("PaxHeaders");
    assertThat(listing).contains("-rwxr-x--- 0/0").contains("-rw----r-- 0/0");
  }

  @Test
  void gnuTarExtractsModesAndNanosecondMtimesAsWritten() throws Exception {
    Path root = sampleTree(tmp.resolve("t"));
    Files.write(tmp.resolve("t.tar"), tar(root, Trees.selection(root)));
    Files.createDirectories(tmp.resolve("out"));

    Trees.sh(tmp, "tar -xpf t.tar -C out");

    assertThat(Trees.snapshot(tmp.resolve("out"))).isEqualTo(Trees.snapshot(root));
    assertThat(Files.getLastModifiedTime(tmp.resolve("out").resolve(UNICODE)).toInstant()).isEqualTo(T1);
  }

  @Test
  void setuidAndSetgidAreStrippedWithAWarningAndStickyIsKept() throws IOException {
    Path root = tmp.resolve("t");
    Trees.write(root.resolve("suid"), new byte[] {1});
    Files.createDirectories(root.resolve("sticky"));
    Files.setAttribute(root.resolve("suid"), "unix:mode", 06755);
    Files.setAttribute(root.resolve("sticky"), "unix:mode", 01777);

    var result =
        new TarWriter(TarWriter.Options.DEFAULTS).write(root, List.of("suid", "sticky"), new ByteArrayOutputStream());

    assertThat(result.entries()).extracting(FileEntry::mode).containsExactly(01777, 0755);
    assertThat(result.warnings()).containsExactly("suid: setuid/setgid bits dropped");
  }

  @Test
  void symlinksStayWhenInsideTheRootAndAreReportedAndSkippedOtherwise() throws IOException {
    Path root = tmp.resolve("t");
    Trees.write(root.resolve("dir/file"), new byte[] {1});
    Files.createSymbolicLink(root.resolve("dir/rel"), Path.of("file"));
    Files.createSymbolicLink(root.resolve("up"), Path.of("dir/file"));
    Files.createSymbolicLink(root.resolve("dir/abs"), root.resolve("dir/file").toAbsolutePath());
    Files.createSymbolicLink(root.resolve("escape"), Path.of("../outside"));
    Files.createSymbolicLink(root.resolve("etc"), tmp.resolve("elsewhere"));
    Files.createSymbolicLink(root.resolve("dir/sneaky"), Path.of("rel/../../.."));

    var result =
        new TarWriter(TarWriter.Options.DEFAULTS)
            .write(root, List.of("dir/file", "dir/rel", "up", "dir/abs", "escape", "etc", "dir/sneaky"),
                new ByteArrayOutputStream());

    assertThat(result.entries())
        .filteredOn(e -> e.type() == EntryType.SYMLINK)
        .extracting(FileEntry::path, FileEntry::linkTarget)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("dir/abs", "file"),
            org.assertj.core.groups.Tuple.tuple("dir/rel", "file"),
            org.assertj.core.groups.Tuple.tuple("up", "dir/file"));
    assertThat(result.warnings()).hasSize(3).allMatch(w -> w.contains("leaves the set's root; skipped"));
  }

  @Test
  void filesSharingAnInodeBecomeHardlinkEntries() throws Exception {
    Path root = tmp.resolve("t");
    Trees.write(root.resolve("a"), "same".getBytes(StandardCharsets.UTF_8));
    Files.createLink(root.resolve("b"), root.resolve("a"));
    Files.write(tmp.resolve("t.tar"), tar(root, List.of("a", "b")));

    assertThat(Trees.sh(tmp, "tar -tvf t.tar")).contains("b link to a");
    var entries = new TarWriter(TarWriter.Options.DEFAULTS).write(root, List.of("b", "a"), new ByteArrayOutputStream()).entries();
    assertThat(entries.get(1).type()).isEqualTo(EntryType.HARDLINK);
    assertThat(entries.get(1).linkTarget()).isEqualTo("a");
    assertThat(entries.get(1).sha256()).isEqualTo(entries.get(0).sha256());
  }

  @Test
  void aVanishedFileFailsByDefaultAndIsLeftOutWhenTolerated() throws IOException {
    Path root = tmp.resolve("t");
    Trees.write(root.resolve("here"), new byte[] {1});

    assertThatThrownBy(
            () -> new TarWriter(TarWriter.Options.DEFAULTS).write(root, List.of("gone", "here"), new ByteArrayOutputStream()))
        .isInstanceOf(FileChangedException.class)
        .hasMessageContaining("gone: vanished");

    var result =
        new TarWriter(new TarWriter.Options(true, FileChange.Policy.WARN))
            .write(root, List.of("gone", "here"), new ByteArrayOutputStream());
    assertThat(result.entries()).extracting(FileEntry::path).containsExactly("here");
    assertThat(result.warnings()).singleElement().asString().startsWith("gone: vanished");
  }

  @Test
  void aFileLongerThanItsSizeIsCutAndReportedSoTheStreamStaysConsistent() throws Exception {
    // /proc files announce size 0 but have content: exactly "grew while being read".
    Path root = Path.of("/proc/self");
    var seen = new java.util.ArrayList<FileChange>();
    var out = new ByteArrayOutputStream();
    var result =
        new TarWriter(new TarWriter.Options(false, c -> seen.add(c))).write(root, List.of("status"), out);

    assertThat(seen).singleElement().satisfies(c -> {
      assertThat(c.kind()).isEqualTo(FileChange.Kind.CHANGED);
      assertThat(c.detail()).contains("grew beyond 0 bytes");
    });
    assertThat(result.entries().get(0).size()).isZero();
    Files.write(tmp.resolve("t.tar"), out.toByteArray());
    assertThat(Trees.sh(tmp, "tar -tvf t.tar")).contains("status");
  }

  @Test
  void aFileTruncatedWhileReadIsZeroPaddedToItsAnnouncedSizeAndReported() throws Exception {
    Path root = tmp.resolve("t");
    Trees.write(root.resolve("log"), new byte[3000]);
    // The file is 3000 bytes at lstat; by the time it is read only 1000 are left.
    TarWriter.Opener truncated =
        file -> java.nio.channels.Channels.newChannel(new java.io.ByteArrayInputStream(new byte[1000]));
    var seen = new java.util.ArrayList<FileChange>();
    var out = new ByteArrayOutputStream();

    var result = new TarWriter(new TarWriter.Options(false, c -> seen.add(c)), truncated)
        .write(root, List.of("log"), out);

    assertThat(seen).singleElement().extracting(FileChange::detail).asString()
        .contains("shrank from 3000 to 1000 bytes; zero-padded");
    assertThat(result.entries().get(0).size()).isEqualTo(3000);
    assertThat(result.entries().get(0).sha256()).isEqualTo(Sha256.of(new byte[3000]));
    Files.write(tmp.resolve("t.tar"), out.toByteArray());
    Files.createDirectories(tmp.resolve("x"));
    Trees.sh(tmp, "tar -xf t.tar -C x");
    assertThat(Files.size(tmp.resolve("x/log"))).isEqualTo(3000);
  }

  @Test
  void aFileThatShrankFailsThePersistUnderTheDefaultPolicy() throws IOException {
    Path root = tmp.resolve("t");
    Trees.write(root.resolve("log"), new byte[3000]);
    TarWriter.Opener truncated =
        file -> java.nio.channels.Channels.newChannel(new java.io.ByteArrayInputStream(new byte[10]));

    assertThatThrownBy(() -> new TarWriter(TarWriter.Options.DEFAULTS, truncated)
            .write(root, List.of("log"), new ByteArrayOutputStream()))
        .isInstanceOf(FileChangedException.class)
        .hasMessageContaining("log: changed while being read (shrank from 3000 to 10 bytes");
  }

  @Test
  void aPerPathPolicyToleratesOnlyTheFilesWhoseRuleHasThePercentSigil() throws IOException {
    Path root = tmp.resolve("t");
    Trees.write(root.resolve("logs/app.log"), new byte[3000]);
    Trees.write(root.resolve("src/main.rs"), new byte[3000]);
    // Every file shrinks while read; only logs/app.log is covered by a % rule.
    TarWriter.Opener truncated =
        file -> java.nio.channels.Channels.newChannel(new java.io.ByteArrayInputStream(new byte[10]));
    FileChange.Policy policy = FileChange.Policy.perPath(java.util.Map.of("logs/app.log", true, "src/main.rs", false));

    var lenient = new TarWriter(new TarWriter.Options(true, policy), truncated)
        .write(root, List.of("logs/app.log"), new ByteArrayOutputStream());
    assertThat(lenient.warnings()).singleElement().asString()
        .startsWith("logs/app.log: changed while being read (shrank from 3000 to 10 bytes");
    assertThat(lenient.entries()).filteredOn(e -> e.path().equals("logs/app.log"))
        .singleElement().extracting(FileEntry::size).isEqualTo(3000L);

    assertThatThrownBy(() -> new TarWriter(new TarWriter.Options(true, policy), truncated)
            .write(root, List.of("logs/app.log", "src/main.rs"), new ByteArrayOutputStream()))
        .isInstanceOf(FileChangedException.class)
        .hasMessageContaining("src/main.rs: changed while being read");
  }

  @Test
  void aPerPathPolicyToleratesAVanishedDirectoryOnlyWhenEverythingBelowItIsTolerant() {
    FileChange.Policy policy =
        FileChange.Policy.perPath(java.util.Map.of("tmp/a", true, "tmp/b/c", true, "mixed/a", true, "mixed/b", false,
            "mixedness", true));
    FileChange dir = new FileChange("tmp", FileChange.Kind.VANISHED, "no longer exists");
    FileChange mixed = new FileChange("mixed", FileChange.Kind.VANISHED, "no longer exists");
    FileChange unknown = new FileChange("elsewhere", FileChange.Kind.VANISHED, "no longer exists");

    assertThat(policy.tolerate(dir)).isTrue();
    assertThat(policy.tolerate(new FileChange("tmp/b", FileChange.Kind.CHANGED, "is no longer a directory"))).isTrue();
    assertThat(policy.tolerate(mixed)).isFalse();
    assertThat(policy.tolerate(unknown)).isFalse();
    assertThat(policy.tolerate(new FileChange("mixed/b", FileChange.Kind.CHANGED, "modified while read"))).isFalse();
  }

  @Test
  void aPerPathPolicyLetsAWholeWriteGoOnWhenATolerantDirectoryVanishes() throws IOException {
    Path root = tmp.resolve("t");
    Trees.write(root.resolve("keep/a"), new byte[] {1});
    var policy = FileChange.Policy.perPath(java.util.Map.of("keep/a", false, "gone/x", true, "gone/y/z", true));

    var result = new TarWriter(new TarWriter.Options(true, policy))
        .write(root, List.of("keep/a", "gone/x", "gone/y/z"), new ByteArrayOutputStream());

    assertThat(result.entries()).extracting(FileEntry::path).containsExactly("keep", "keep/a");
    assertThat(result.warnings()).singleElement().asString().startsWith("gone: vanished");
  }

  @Test
  void paxTimesFormatAndParseExactly() {
    for (Instant t :
        List.of(Instant.ofEpochSecond(0), T1, Instant.ofEpochSecond(-2, 500_000_000), Instant.ofEpochSecond(1, 1),
            Instant.ofEpochSecond(99_999_999_999L, 10))) {
      assertThat(TarFormat.parsePaxTime(TarFormat.formatPaxTime(t))).isEqualTo(t);
    }
    assertThat(TarFormat.formatPaxTime(Instant.ofEpochSecond(-2, 500_000_000))).isEqualTo("-1.5");
    assertThat(TarFormat.formatPaxTime(Instant.ofEpochSecond(5, 100_000_000))).isEqualTo("5.1");
  }

  @Test
  void paxTimesAreTheDecimalOfTheInstantWithoutTrailingZeros() {
    java.util.Random random = new java.util.Random(11);
    for (int i = 0; i < 20_000; i++) {
      long seconds = i % 3 == 0 ? random.nextInt(1000) - 500 : random.nextLong() >>> (10 + random.nextInt(40));
      int nanos = switch (i % 4) {
        case 0 -> 0;
        case 1 -> random.nextInt(10) * 100_000_000;
        case 2 -> random.nextInt(1000) * 1000;
        default -> random.nextInt(1_000_000_000);
      };
      Instant t = Instant.ofEpochSecond(seconds, nanos);
      String expected =
          new java.math.BigDecimal(seconds).add(java.math.BigDecimal.valueOf(nanos, 9)).stripTrailingZeros()
              .toPlainString();
      assertThat(TarFormat.formatPaxTime(t)).as("%s", t).isEqualTo(expected);
    }
  }

  @Test
  void everyPaxRecordCountsItsOwnBytesWhereItsLengthGainsADigit() throws IOException {
    // Names whose records are 9/10 and 99/100/101 bytes long, ASCII and not, each with a sub-second mtime.
    for (String unit : List.of("a", "é", "日")) {
      for (int n = 1; n < 110; n++) {
        String name = "d/" + unit.repeat(n) + "/" + "x".repeat(100);
        var out = new ByteArrayOutputStream();
        TarFormat.writeHeader(out, new byte[512], name, TarFormat.TYPE_FILE, 0644, 1, T1.plusNanos(n), null);
        byte[] b = out.toByteArray();
        assertThat(b[156]).isEqualTo(TarFormat.TYPE_PAX);
        int size = (int) TarFormat.parseNumber(b, 124, 12, name, "size");
        byte[] records = java.util.Arrays.copyOfRange(b, 512, 512 + size);
        int at = 0;
        List<String> keys = new java.util.ArrayList<>();
        while (at < records.length) {
          int space = at;
          while (records[space] != ' ') {
            space++;
          }
          int len = Integer.parseInt(new String(records, at, space - at, StandardCharsets.US_ASCII));
          assertThat(records[at + len - 1]).as("record end of %s", name).isEqualTo((byte) '\n');
          String kv = new String(records, space + 1, at + len - space - 2, StandardCharsets.UTF_8);
          keys.add(kv.substring(0, kv.indexOf('=')));
          if (kv.startsWith("path=")) {
            assertThat(kv.substring(5)).isEqualTo(name);
          }
          at += len;
        }
        assertThat(keys).containsExactly("path", "mtime");
        assertThat(TarFormat.checksumOk(java.util.Arrays.copyOfRange(b, b.length - 512, b.length))).isTrue();
      }
    }
  }

  @Test
  void sizesOfEightGibibytesAndMoreAndTimesBefore1970GoInAPaxHeaderThatTheReaderApplies() throws IOException {
    long big = 10L << 30;
    Instant before1970 = Instant.ofEpochSecond(-86_400, 250_000_000);
    var out = new ByteArrayOutputStream();
    TarFormat.writeHeader(out, new byte[512], "big.bin", TarFormat.TYPE_FILE, 0644, big, before1970, null);
    String pax = new String(out.toByteArray(), 512, 512, StandardCharsets.UTF_8);
    assertThat(pax).contains("size=" + big + "\n").contains("mtime=-86399.75\n");

    var header = new TarReader(new java.io.ByteArrayInputStream(out.toByteArray())).next();

    assertThat(header.name()).isEqualTo("big.bin");
    assertThat(header.size()).isEqualTo(big);
    assertThat(header.mtime()).isEqualTo(before1970);
  }

  @Test
  void pathsThatAreNotCleanAndRelativeAreRejected() {
    for (String bad : List.of("/abs", "a/../b", "", "a//b", "./a")) {
      assertThatThrownBy(() -> tar(tmp, List.of(bad))).isInstanceOf(IllegalArgumentException.class);
    }
  }
}
