package dev.ephemera.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.Zstd;
import dev.ephemera.archive.ArchiveException.Reason;
import dev.ephemera.archive.Manifest.EntryType;
import dev.ephemera.archive.Manifest.FileEntry;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The worker's listing of a stream it receives chunk by chunk: the entries a restore would write, each file with its
 * sha256, whatever the pieces' sizes; a stream a restore refuses is refused, without holding up whoever gives it.
 */
class StreamListingTest {
  private static final Instant HAND_TAR_TIME = Instant.ofEpochSecond(1_700_000_000L);

  /** The listing of the stream {@code manifest}'s chunks make, read from {@code store} as the worker reads them. */
  static StreamListing.Outcome listing(Manifest manifest, MemoryChunks store) throws IOException {
    try (StreamListing listing = new StreamListing(Limits.DEFAULTS, "test-list")) {
      for (Manifest.Chunk c : manifest.chunks()) {
        byte[] frame = store.frames.get(c.sha256());
        listing.accept(Zstd.decompress(frame, c.rawSize()));
      }
      return listing.finish();
    }
  }

  private static StreamListing.Outcome inPieces(byte[] tar, int piece) throws IOException {
    try (StreamListing listing = new StreamListing(Limits.DEFAULTS, "test-list")) {
      for (int at = 0; at < tar.length; at += piece) {
        listing.accept(Arrays.copyOfRange(tar, at, Math.min(tar.length, at + piece)));
      }
      return listing.finish();
    }
  }

  private static String sha(String content) {
    return Sha256.of(content.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void listsTheEntriesTheStreamNamesWithEachFilesSha256WhateverThePieces() throws IOException {
    byte[] tar =
        new HandTar()
            .dir("./")
            .dir("d")
            .file("./d/a", "a")
            .pax("path", "d/ünïcödé")
            .file("d/placeholder", "u")
            .file("e/implied", "parent only implied")
            .hardlink("d/h", "./d/a")
            .hardlink("d/h2", "d/h")
            .symlink("d/l", "../e/implied")
            .file("tool", "x".getBytes(StandardCharsets.UTF_8), 04755)
            .end()
            .raw(new byte[4096])
            .bytes();
    List<FileEntry> expected =
        List.of(
            new FileEntry("d", EntryType.DIR, 0, 0755, HAND_TAR_TIME, null, null),
            new FileEntry("d/a", EntryType.FILE, 1, 0644, HAND_TAR_TIME, sha("a"), null),
            new FileEntry("d/ünïcödé", EntryType.FILE, 1, 0644, HAND_TAR_TIME, sha("u"), null),
            new FileEntry("e/implied", EntryType.FILE, 19, 0644, HAND_TAR_TIME, sha("parent only implied"), null),
            new FileEntry("d/h", EntryType.HARDLINK, 0, 0644, HAND_TAR_TIME, sha("a"), "d/a"),
            new FileEntry("d/h2", EntryType.HARDLINK, 0, 0644, HAND_TAR_TIME, sha("a"), "d/h"),
            new FileEntry("d/l", EntryType.SYMLINK, 0, 0777, HAND_TAR_TIME, null, "../e/implied"),
            new FileEntry("tool", EntryType.FILE, 1, 0755, HAND_TAR_TIME, sha("x"), null));

    SafeExtractor.Listing whole = new SafeExtractor(Limits.DEFAULTS, 0).list(new ByteArrayInputStream(tar));
    assertThat(whole.entries()).isEqualTo(expected);
    assertThat(whole.warnings()).containsExactly("tool: setuid/setgid bits dropped");
    assertThat(whole.fileBytes()).isEqualTo(22);
    for (int piece : new int[] {1, 7, 511, 512, 513, 4096, tar.length}) {
      StreamListing.Outcome outcome = inPieces(tar, piece);
      assertThat(outcome.refusal()).as("pieces of %d bytes", piece).isNull();
      assertThat(outcome.listing()).as("pieces of %d bytes", piece).isEqualTo(whole);
    }
  }

  @Test
  void aStreamARestoreRefusesIsRefusedWithTheEntryAndTheGiverIsNotHeldUp() throws IOException {
    byte[] big = new byte[1 << 20];
    HandTar hostile = new HandTar().file("a/../../evil", "x");
    for (int i = 0; i < 16; i++) {
      hostile.file("big" + i, big, 0644);
    }
    // 16 MiB given in 64 KiB pieces: far more than the lister holds, all taken once it has stopped
    StreamListing.Outcome outcome = inPieces(hostile.end().bytes(), 64 << 10);
    assertThat(outcome.listing()).isNull();
    assertThat(outcome.refusal().reason()).isEqualTo(Reason.PARENT_COMPONENT);
    assertThat(outcome.refusal().entry()).isEqualTo("a/../../evil");
  }

  @Test
  void aStreamThatEndsEarlyIsRefusedAsTruncated() throws IOException {
    byte[] whole = new HandTar().file("a", new byte[5000], 0644).end().bytes();
    StreamListing.Outcome outcome = inPieces(Arrays.copyOf(whole, 512 + 3000), 1000);
    assertThat(outcome.refusal().reason()).isEqualTo(Reason.TRUNCATED);
    assertThat(outcome.refusal().entry()).isEqualTo("a");
  }

  @Test
  void aListingStoppedBeforeTheEndFailsInsteadOfAnswering() throws IOException {
    byte[] whole = new HandTar().file("a", new byte[5000], 0644).end().bytes();
    StreamListing listing = new StreamListing(Limits.DEFAULTS, "test-list");
    listing.accept(Arrays.copyOf(whole, 1024));
    listing.close();
    listing.accept(Arrays.copyOfRange(whole, 1024, whole.length)); // dropped, not waiting
    assertThatThrownBy(listing::finish).isInstanceOf(InterruptedIOException.class);
  }

  @Test
  void theLimitsOfARestoreApply() throws IOException {
    byte[] tar = new HandTar().file("a", "1").file("b", "2").file("c", "3").end().bytes();
    try (StreamListing listing = new StreamListing(new Limits(2, 1 << 20, 1000), "test-list")) {
      listing.accept(tar);
      ArchiveException refusal = listing.finish().refusal();
      assertThat(refusal.reason()).isEqualTo(Reason.TOO_MANY_ENTRIES);
      assertThat(refusal.entry()).isEqualTo("c");
    }
  }
}
