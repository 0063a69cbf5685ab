package dev.ephemera.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.Zstd;
import dev.ephemera.archive.ArchiveException.Reason;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One crafted archive per refusal reason. Each goes through {@link Restorer#unpack} (staging,
 * verification, move into place) onto a target that already holds files, and each must leave that
 * target exactly as it was, with no staging directory left behind. Each refusal that the stream alone decides is made
 * the same way, naming the same entry, by the listing the worker makes of a persist ({@link SafeExtractor#list}).
 */
class SafeExtractorTest {
  /** Refusals that depend on the target on disk or on the compressed stream, which a listing does not see. */
  private static final EnumSet<Reason> NOT_THE_STREAMS =
      EnumSet.of(Reason.PRE_EXISTING_SYMLINK, Reason.CONFLICT, Reason.COMPRESSION_RATIO);

  @TempDir Path tmp;
  private Path target;
  private Path outside;
  private Map<String, String> before;

  @BeforeEach
  void existingTarget() throws IOException {
    target = tmp.resolve("target");
    outside = tmp.resolve("outside");
    Files.createDirectories(outside);
    Trees.write(target.resolve("existing.txt"), "keep me".getBytes(StandardCharsets.UTF_8));
    Trees.write(target.resolve("sub/inner.txt"), "me too".getBytes(StandardCharsets.UTF_8));
    before = Trees.snapshot(target);
  }

  private ArchiveException refused(byte[] tar, Limits limits, Reason reason, String entry) {
    var thrown = org.assertj.core.api.Assertions.catchThrowableOfType(ArchiveException.class,
        () -> Restorer.unpack(new ByteArrayInputStream(Zstd.compress(tar, 3)), target, limits));
    assertThat(thrown).as("expected a refusal").isNotNull();
    assertThat(thrown.reason()).isEqualTo(reason);
    if (entry != null) {
      assertThat(thrown.entry()).isEqualTo(entry);
      assertThat(thrown.getMessage()).contains("'" + entry + "'").contains(reason.text());
    }
    assertUntouched();
    if (!NOT_THE_STREAMS.contains(reason)) {
      var listed = org.assertj.core.api.Assertions.catchThrowableOfType(ArchiveException.class,
          () -> new SafeExtractor(limits, 0).list(new ByteArrayInputStream(tar)));
      assertThat(listed).as("the listing refuses it too").isNotNull();
      assertThat(listed.reason()).isEqualTo(reason);
      assertThat(listed.entry()).isEqualTo(thrown.entry());
    }
    return thrown;
  }

  private ArchiveException refused(byte[] tar, Reason reason, String entry) {
    return refused(tar, Limits.DEFAULTS, reason, entry);
  }

  private void assertUntouched() {
    assertThat(Trees.snapshot(target)).isEqualTo(before);
    assertThat(Trees.snapshot(outside)).isEmpty();
    try (var s = Files.list(tmp)) {
      assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("target", "outside");
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void refusesAbsolutePaths() {
    refused(new HandTar().file("ok", "x").file("/tmp/evil", "x").end().bytes(), Reason.ABSOLUTE_PATH, "/tmp/evil");
  }

  @Test
  void refusesParentComponents() {
    refused(new HandTar().file("a/../../evil", "x").end().bytes(), Reason.PARENT_COMPONENT, "a/../../evil");
    refused(new HandTar().file("..", "x").end().bytes(), Reason.PARENT_COMPONENT, "..");
  }

  @Test
  void refusesTheNameFromAPaxHeaderAndAGnuLongNameNotJustTheUstarField() {
    refused(new HandTar().pax("path", "/etc/cron.d/evil").file("harmless", "x").end().bytes(),
        Reason.ABSOLUTE_PATH, "/etc/cron.d/evil");
    refused(new HandTar().gnuLongName("x/../../evil").file("harmless", "x").end().bytes(),
        Reason.PARENT_COMPONENT, "x/../../evil");
  }

  @Test
  void refusesSymlinksPointingOutsideTheRoot() {
    refused(new HandTar().symlink("l", "/etc").end().bytes(), Reason.LINK_OUTSIDE_ROOT, "l");
    refused(new HandTar().symlink("d/l", "../../outside").end().bytes(), Reason.LINK_OUTSIDE_ROOT, "d/l");
    // Lexically inside, physically outside once "d" is a symlink to ".": '..' after a name is refused.
    refused(new HandTar().symlink("d", ".").symlink("l", "d/../outside").end().bytes(), Reason.LINK_OUTSIDE_ROOT, "l");
  }

  @Test
  void refusesWritesThroughASymlinkOfTheArchive() {
    refused(new HandTar().dir("d").symlink("l", "d").file("l/evil", "x").end().bytes(), Reason.THROUGH_SYMLINK,
        "l/evil");
  }

  @Test
  void refusesWritesThroughAHardlinkOrAFile() {
    refused(new HandTar().file("f", "x").hardlink("h", "f").file("h/evil", "x").end().bytes(),
        Reason.THROUGH_HARDLINK, "h/evil");
    refused(new HandTar().file("f", "x").file("f/evil", "x").end().bytes(), Reason.THROUGH_HARDLINK, "f/evil");
  }

  @Test
  void refusesHardlinksToAnythingButAnEarlierFileOfTheArchive() {
    refused(new HandTar().hardlink("h", "/etc/passwd").end().bytes(), Reason.LINK_OUTSIDE_ROOT, "h");
    refused(new HandTar().hardlink("h", "../outside/x").end().bytes(), Reason.LINK_OUTSIDE_ROOT, "h");
    refused(new HandTar().hardlink("h", "existing.txt").end().bytes(), Reason.LINK_OUTSIDE_ROOT, "h");
    refused(new HandTar().dir("d").symlink("l", "d").hardlink("h", "l").end().bytes(), Reason.THROUGH_SYMLINK, "h");
    refused(new HandTar().dir("d").hardlink("h", "d").end().bytes(), Reason.THROUGH_HARDLINK, "h");
  }

  @Test
  void refusesDevicesAndFifos() {
    refused(new HandTar().special("null", '3').end().bytes(), Reason.DEVICE_OR_FIFO, "null");
    refused(new HandTar().special("sda", '4').end().bytes(), Reason.DEVICE_OR_FIFO, "sda");
    refused(new HandTar().special("pipe", '6').end().bytes(), Reason.DEVICE_OR_FIFO, "pipe");
  }

  @Test
  void refusesUnsupportedEntriesRatherThanGuessing() {
    refused(new HandTar().special("sparse", 'S').end().bytes(), Reason.UNSUPPORTED_ENTRY, "sparse");
    var global = new LinkedHashMap<String, String>();
    global.put("path", "evil");
    refused(new HandTar().pax('g', global).file("a", "x").end().bytes(), Reason.UNSUPPORTED_ENTRY, null);
  }

  @Test
  void refusesDuplicateEntries() {
    refused(new HandTar().file("a", "1").file("a", "2").end().bytes(), Reason.DUPLICATE, "a");
    refused(new HandTar().file("./a", "1").file("a", "2").end().bytes(), Reason.DUPLICATE, "a");
    refused(new HandTar().dir("d").dir("d").end().bytes(), Reason.DUPLICATE, "d");
    refused(new HandTar().dir("d").file("d", "x").end().bytes(), Reason.DUPLICATE, "d");
  }

  @Test
  void refusesMoreEntriesThanTheLimit() {
    byte[] tar = new HandTar().file("a", "1").file("b", "2").file("c", "3").file("d", "4").end().bytes();
    refused(tar, new Limits(3, 1 << 20, 1000), Reason.TOO_MANY_ENTRIES, "d");
  }

  @Test
  void refusesMoreBytesThanTheLimit() {
    byte[] tar = new HandTar().file("small", "x").file("big", new byte[2000], 0644).end().bytes();
    refused(tar, new Limits(100, 1000, 1000), Reason.TOO_LARGE, "big");
  }

  @Test
  void refusesACompressionRatioAboveTheLimit() {
    byte[] tar = new HandTar().file("zeros", new byte[8 << 20], 0644).end().bytes();
    refused(tar, new Limits(100, 1L << 30, 100), Reason.COMPRESSION_RATIO, null);
  }

  @Test
  void refusesTruncatedStreams() {
    byte[] whole = new HandTar().file("a", new byte[5000], 0644).file("b", "x").end().bytes();
    refused(Arrays.copyOf(whole, 512 + 3000), Reason.TRUNCATED, "a"); // inside a's data
    refused(Arrays.copyOf(whole, whole.length - 1024), Reason.TRUNCATED, null); // no end marker
    refused(Arrays.copyOf(whole, whole.length - 512), Reason.TRUNCATED, null); // half an end marker
    refused(Arrays.copyOf(whole, 512 + 5120 + 100), Reason.TRUNCATED, null); // inside b's header
  }

  @Test
  void refusesATruncatedCompressedStream() {
    byte[] frame = Zstd.compress(new HandTar().file("a", "hello").end().bytes(), 3);
    assertThatThrownBy(
            () -> Restorer.unpack(new ByteArrayInputStream(Arrays.copyOf(frame, frame.length - 5)), target, Limits.DEFAULTS))
        .isInstanceOf(ArchiveException.class)
        .satisfies(e -> assertThat(((ArchiveException) e).reason()).isIn(Reason.TRUNCATED, Reason.CORRUPT));
    assertUntouched();
  }

  @Test
  void refusesCorruptHeadersAndTrailingGarbage() {
    byte[] tar = new HandTar().file("a", "x").end().bytes();
    tar[10] ^= 0x20; // name changes, checksum no longer matches
    refused(tar, Reason.CORRUPT, null);
    refused(new HandTar().file("a", "x").end().raw("junk".getBytes(StandardCharsets.UTF_8)).bytes(), Reason.CORRUPT,
        null);
  }

  @Test
  void refusesWritingThroughASymlinkAlreadyInTheTarget() throws IOException {
    Files.createSymbolicLink(target.resolve("linked"), outside);
    before = Trees.snapshot(target);
    refused(new HandTar().file("linked/evil", "x").end().bytes(), Reason.PRE_EXISTING_SYMLINK, "linked");
  }

  @Test
  void refusesReplacingADirectoryOfTheTargetWithAFile() {
    refused(new HandTar().file("sub", "x").end().bytes(), Reason.CONFLICT, "sub");
  }

  @Test
  void dropsSetuidAndSetgidWithAWarning() throws IOException {
    byte[] tar = new HandTar().file("tool", "x".getBytes(StandardCharsets.UTF_8), 06755).end().bytes();
    var r = Restorer.unpack(new ByteArrayInputStream(Zstd.compress(tar, 3)), target, Limits.DEFAULTS);
    assertThat(Files.getAttribute(target.resolve("tool"), "unix:mode")).isEqualTo(0100755);
    assertThat(r.warnings()).containsExactly("tool: setuid/setgid bits dropped");
  }

  @Test
  void acceptsOrdinaryTarIdiomsAndLeavesTheRestOfTheTargetAlone() throws IOException {
    byte[] tar =
        new HandTar()
            .dir("./")
            .dir("./d")
            .file("./d/a", "a")
            .pax("path", "d/ünïcödé")
            .file("d/placeholder", "u")
            .gnuLongName("d/" + "x".repeat(150))
            .file("d/short", "long")
            .hardlink("d/h", "./d/a")
            .symlink("d/l", "../existing.txt")
            .end()
            .raw(new byte[8192])
            .bytes();

    var r = Restorer.unpack(new ByteArrayInputStream(Zstd.compress(tar, 3)), target, Limits.DEFAULTS);

    assertThat(Files.readString(target.resolve("d/ünïcödé"))).isEqualTo("u");
    assertThat(Files.readString(target.resolve("d/" + "x".repeat(150)))).isEqualTo("long");
    assertThat(Files.getAttribute(target.resolve("d/h"), "unix:nlink")).isEqualTo(2);
    assertThat(Files.readSymbolicLink(target.resolve("d/l"))).isEqualTo(Path.of("../existing.txt"));
    assertThat(Files.isSymbolicLink(target.resolve("d/l"))).isTrue();
    assertThat(Files.readString(target.resolve("existing.txt"))).isEqualTo("keep me");
    assertThat(Files.isRegularFile(target.resolve("sub/inner.txt"), LinkOption.NOFOLLOW_LINKS)).isTrue();
    assertThat(r.entries()).isEqualTo(6);
    assertThat(r.tarSha256()).isEqualTo(Sha256.of(tar));
  }
}
