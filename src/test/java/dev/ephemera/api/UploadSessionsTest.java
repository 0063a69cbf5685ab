package dev.ephemera.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.luben.zstd.Zstd;
import dev.ephemera.archive.Limits;
import dev.ephemera.archive.Manifest;
import dev.ephemera.store.LocalDirectoryStore;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The upload session's digests must be exactly what the registration's full digest computes from the stored frames,
 * whatever order the announcements and uploads arrive in, and a session that cannot vouch for the stream says so.
 */
class UploadSessionsTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path dir;
  private LocalDirectoryStore store;
  private final Random random = new Random(7);

  @BeforeEach
  void open() {
    store = new LocalDirectoryStore(dir);
  }

  @AfterEach
  void close() {
    store.close();
  }

  private record Chunk(String sha, byte[] raw, byte[] frame) {
    Manifest.Chunk entry() {
      return new Manifest.Chunk(sha, raw.length, frame.length);
    }
  }

  private Chunk chunk(int size, int level) {
    byte[] raw = new byte[size];
    for (int i = 0; i < size; i++) {
      raw[i] = (byte) (random.nextInt(16) + 'a'); // compressible
    }
    return new Chunk(hex(raw), raw, Zstd.compress(raw, level));
  }

  private static String hex(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static String digestOf(List<Chunk> stream, boolean frames) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    stream.forEach(c -> md.update(frames ? c.frame() : c.raw()));
    return HexFormat.of().formatHex(md.digest());
  }

  private UploadSessions sessions(long maxHeld) {
    return new UploadSessions(store, JobApi::chunkKey, 4, maxHeld, Duration.ofMinutes(1), Limits.DEFAULTS);
  }

  @Test
  void digestsAMixOfUploadedStoredAndRepeatedChunksAnnouncedOutOfOrder() throws Exception {
    Chunk stored = chunk(70_000, 3);
    store.put(JobApi.chunkKey(stored.sha()), stored.frame());
    Chunk a = chunk(50_000, 3);
    Chunk b = chunk(1, 3);
    Chunk c = chunk(120_000, 3);
    List<Chunk> stream = List.of(a, stored, b, a, c, stored);
    UploadSessions sessions = sessions(64 << 20);
    UploadSessions.Session s = sessions.open("job", "session-0001").orElseThrow();

    // The second batch is announced first, as concurrent present calls may be.
    s.order(3, List.of(a.sha(), c.sha(), stored.sha()));
    s.order(0, List.of(a.sha(), stored.sha(), b.sha()));
    s.present(List.of(stored.sha()));
    for (Chunk up : List.of(c, a, b)) {
      store.put(JobApi.chunkKey(up.sha()), up.frame());
      s.uploaded(up.sha(), up.frame(), up.raw(), true);
    }

    UploadSessions.Digests d = s.finish(stream.stream().map(Chunk::entry).toList(), WAIT).orElseThrow();
    assertThat(d.tarSha256()).isEqualTo(digestOf(stream, false));
    assertThat(d.archiveSha256()).isEqualTo(digestOf(stream, true));
    assertThat(d.tarSize()).isEqualTo(stream.stream().mapToLong(x -> x.raw().length).sum());
    assertThat(d.storedSizes()).containsExactlyElementsOf(stream.stream().map(x -> (long) x.frame().length).toList());
    assertThat(sessions.open()).isZero();
    assertThat(sessions.heldBytes()).isZero();
  }

  @Test
  void readsBackWhatItCannotHoldAndDigestsTheFrameTheStoreHasNotTheUploadedOne() throws Exception {
    Chunk a = chunk(40_000, 3);
    Chunk b = chunk(40_000, 3);
    // The store already had b, compressed differently: the set's archive digest must be of the stored frame.
    Chunk bStored = new Chunk(b.sha(), b.raw(), Zstd.compress(b.raw(), 19));
    store.put(JobApi.chunkKey(b.sha()), bStored.frame());
    UploadSessions sessions = sessions(0); // holds nothing
    UploadSessions.Session s = sessions.open("job", "session-0002").orElseThrow();
    s.order(0, List.of(a.sha(), b.sha()));
    store.put(JobApi.chunkKey(a.sha()), a.frame());
    s.uploaded(a.sha(), a.frame(), a.raw(), true);
    s.uploaded(b.sha(), b.frame(), b.raw(), false);

    UploadSessions.Digests d = s.finish(List.of(a.entry(), bStored.entry()), WAIT).orElseThrow();
    assertThat(d.archiveSha256()).isEqualTo(digestOf(List.of(a, bStored), true));
    assertThat(d.tarSha256()).isEqualTo(digestOf(List.of(a, b), false));
    assertThat(d.storedSizes()).containsExactly((long) a.frame().length, (long) bStored.frame().length);
  }

  @Test
  void aManifestThatIsNotTheAnnouncedStreamGetsNoDigest() throws Exception {
    Chunk a = chunk(1000, 3);
    Chunk b = chunk(1000, 3);
    for (Chunk c : List.of(a, b)) {
      store.put(JobApi.chunkKey(c.sha()), c.frame());
    }
    UploadSessions sessions = sessions(64 << 20);
    UploadSessions.Session swapped = sessions.open("job", "session-0003").orElseThrow();
    swapped.order(0, List.of(a.sha(), b.sha()));
    swapped.present(List.of(a.sha(), b.sha()));
    assertThat(swapped.finish(List.of(b.entry(), a.entry()), WAIT)).isEmpty();

    UploadSessions.Session longer = sessions.open("job", "session-0004").orElseThrow();
    longer.order(0, List.of(a.sha()));
    assertThat(longer.finish(List.of(a.entry(), b.entry()), WAIT)).isEmpty();

    UploadSessions.Session gap = sessions.open("job", "session-0005").orElseThrow();
    gap.order(1, List.of(b.sha()));
    assertThat(gap.finish(List.of(a.entry(), b.entry()), WAIT)).isEmpty();
    assertThat(sessions.open()).isZero();
  }

  @Test
  void aChunkNeitherUploadedNorStoredGetsNoDigest() throws Exception {
    Chunk a = chunk(1000, 3);
    UploadSessions.Session s = sessions(64 << 20).open("job", "session-0006").orElseThrow();
    s.order(0, List.of(a.sha()));
    assertThat(s.finish(List.of(a.entry()), WAIT)).isEmpty();
  }

  @Test
  void aSizeThatDiffersFromTheManifestGetsNoDigest() throws Exception {
    Chunk a = chunk(1000, 3);
    store.put(JobApi.chunkKey(a.sha()), a.frame());
    UploadSessions.Session s = sessions(64 << 20).open("job", "session-0007").orElseThrow();
    s.order(0, List.of(a.sha()));
    s.present(List.of(a.sha()));
    assertThat(s.finish(List.of(new Manifest.Chunk(a.sha(), 999, a.frame().length)), WAIT)).isEmpty();
  }

  @Test
  void theWireFormatOfTheSessionFieldsIsSnakeCase() throws Exception {
    var json = dev.ephemera.event.EventCodec.newMapper();
    JobApi.PresentRequest present =
        json.readValue(
            "{\"sha256\": [], \"session\": \"s-0123456789\", \"first\": 16, \"order\": [\"" + "a".repeat(64) + "\"]}",
            JobApi.PresentRequest.class);
    assertThat(present.session()).isEqualTo("s-0123456789");
    assertThat(present.first()).isEqualTo(16L);
    assertThat(present.order()).containsExactly("a".repeat(64));
    JobApi.RegisterRequest register =
        json.readValue("{\"name\": \"n\", \"upload_session\": \"s-0123456789\"}", JobApi.RegisterRequest.class);
    assertThat(register.uploadSession()).isEqualTo("s-0123456789");
  }

  @Test
  void sessionsAreBoundedPerWorkerAndKeyedByJob() {
    UploadSessions sessions = sessions(64 << 20);
    List<UploadSessions.Session> open = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      open.add(sessions.open("job", "session-100" + i).orElseThrow());
    }
    assertThat(sessions.open("job", "session-1004")).isEmpty();
    assertThat(sessions.find("other-job", "session-1000")).isEmpty();
    assertThat(sessions.find("job", "session-1000")).containsSame(open.get(0));
    assertThat(sessions.open("job", "bad id!")).isEmpty();
    open.forEach(s -> s.cancel("test"));
    assertThat(sessions.open()).isZero();
    assertThat(sessions.find("job", "session-1000")).isEqualTo(Optional.empty());
  }
}
