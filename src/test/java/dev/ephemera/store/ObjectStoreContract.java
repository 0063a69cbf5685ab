package dev.ephemera.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The behaviour every {@link ObjectStore} shares. A subclass supplies a fresh, empty store per test
 * and says whether it signs URLs; everything else is the same for the local directory and S3.
 */
abstract class ObjectStoreContract {

  private static final String CHUNK_KEY = "chunks/" + "ab".repeat(32);

  /** A new, empty store; closed after the test. */
  protected abstract ObjectStore newStore() throws Exception;

  /** Whether {@link ObjectStore#presignGet} and {@link ObjectStore#presignPut} return URLs. */
  protected abstract boolean signsUrls();

  /**
   * Whether a read that failed while a put of the same key ran is the test server's own race rather than the store's:
   * none by default (a real store answers the old object or the new one).
   */
  protected boolean serverRaceWhileOverwritten(ObjectStoreException e) {
    return false;
  }

  protected ObjectStore store;

  @TempDir Path scratch;

  @BeforeEach
  void openStore() throws Exception {
    store = newStore();
  }

  @AfterEach
  void closeStore() {
    if (store != null) {
      store.close();
    }
  }

  static byte[] randomBytes(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  static byte[] readAll(InputStream in) throws IOException {
    try (in) {
      return in.readAllBytes();
    }
  }

  @Test
  void bytesPutUnderAKeyAreReadBackUnchanged() throws IOException {
    byte[] bytes = randomBytes(70_000, 1);

    store.put(CHUNK_KEY, bytes);

    assertThat(store.getBytes(CHUNK_KEY))
        .hasValueSatisfying(read -> assertThat(read).isEqualTo(bytes));
    assertThat(readAll(store.open(CHUNK_KEY))).isEqualTo(bytes);
  }

  @Test
  void aFilePutUnderAKeyIsReadBackUnchanged() throws IOException {
    byte[] bytes = randomBytes(3 * 1024 * 1024 + 17, 2);
    Path file = Files.write(scratch.resolve("upload.bin"), bytes);

    store.put("manifests/01JDQ3ZV7Y5K8N2M4P6R8T0W2X.json", file);

    assertThat(readAll(store.open("manifests/01JDQ3ZV7Y5K8N2M4P6R8T0W2X.json"))).isEqualTo(bytes);
    assertThat(Files.readAllBytes(file)).as("the source file is left alone").isEqualTo(bytes);
  }

  @Test
  void anEmptyObjectIsStoredAndReadBack() throws IOException {
    store.put("empty", new byte[0]);

    assertThat(store.exists("empty")).isTrue();
    assertThat(store.size("empty")).hasValue(0);
    assertThat(readAll(store.open("empty"))).isEmpty();
    assertThat(readAll(store.openRange("empty", 0, 10))).isEmpty();
  }

  @Test
  void existsAndSizeDescribeAStoredObject() {
    store.put(CHUNK_KEY, new byte[1234]);

    assertThat(store.exists(CHUNK_KEY)).isTrue();
    assertThat(store.size(CHUNK_KEY)).hasValue(1234);
  }

  @Test
  void aMissingKeyDoesNotExistAndReadingItThrowsNoSuchObject() {
    assertThat(store.exists(CHUNK_KEY)).isFalse();
    assertThat(store.size(CHUNK_KEY)).isEmpty();
    assertThat(store.getBytes(CHUNK_KEY)).isEmpty();
    assertThatThrownBy(() -> store.open(CHUNK_KEY))
        .isInstanceOf(NoSuchObjectException.class)
        .hasMessageContaining(CHUNK_KEY)
        .satisfies(e -> assertThat(((NoSuchObjectException) e).isTransient()).isFalse());
    assertThatThrownBy(() -> store.openRange(CHUNK_KEY, 0, 10))
        .isInstanceOf(NoSuchObjectException.class);
    assertThatThrownBy(() -> store.openRange(CHUNK_KEY, 0, 0))
        .isInstanceOf(NoSuchObjectException.class);
  }

  @Test
  void aSecondPutReplacesTheObject() {
    store.put("manifests/a.json", "first".getBytes(StandardCharsets.UTF_8));
    store.put("manifests/a.json", "second, longer".getBytes(StandardCharsets.UTF_8));

    assertThat(store.getBytes("manifests/a.json"))
        .map(b -> new String(b, StandardCharsets.UTF_8))
        .hasValue("second, longer");
  }

  @Test
  void aRangedReadReturnsExactlyTheRequestedBytes() throws IOException {
    byte[] bytes = randomBytes(10_000, 3);
    store.put(CHUNK_KEY, bytes);

    assertThat(readAll(store.openRange(CHUNK_KEY, 0, 1))).containsExactly(bytes[0]);
    assertThat(readAll(store.openRange(CHUNK_KEY, 1000, 2500))).isEqualTo(slice(bytes, 1000, 2500));
    assertThat(readAll(store.openRange(CHUNK_KEY, 0, bytes.length))).isEqualTo(bytes);
  }

  @Test
  void aRangeEndingAtTheEndOfTheObjectReturnsItsLastBytes() throws IOException {
    byte[] bytes = randomBytes(10_000, 4);
    store.put(CHUNK_KEY, bytes);

    assertThat(readAll(store.openRange(CHUNK_KEY, 9_990, 10))).isEqualTo(slice(bytes, 9_990, 10));
  }

  @Test
  void aRangeReachingPastTheEndIsCutAtTheEnd() throws IOException {
    byte[] bytes = randomBytes(10_000, 5);
    store.put(CHUNK_KEY, bytes);

    assertThat(readAll(store.openRange(CHUNK_KEY, 9_997, 100))).isEqualTo(slice(bytes, 9_997, 3));
    assertThat(readAll(store.openRange(CHUNK_KEY, 5, Long.MAX_VALUE)))
        .isEqualTo(slice(bytes, 5, bytes.length - 5));
  }

  @Test
  void aRangeStartingAtOrPastTheEndIsEmpty() throws IOException {
    store.put(CHUNK_KEY, randomBytes(100, 6));

    assertThat(readAll(store.openRange(CHUNK_KEY, 100, 10))).isEmpty();
    assertThat(readAll(store.openRange(CHUNK_KEY, 5_000, 10))).isEmpty();
    assertThat(readAll(store.openRange(CHUNK_KEY, 10, 0))).isEmpty();
  }

  @Test
  void aNegativeRangeIsRejected() {
    store.put(CHUNK_KEY, new byte[10]);

    assertThatThrownBy(() -> store.openRange(CHUNK_KEY, -1, 5))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.openRange(CHUNK_KEY, 0, -5))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void deleteRemovesTheObject() {
    store.put(CHUNK_KEY, new byte[10]);

    store.delete(CHUNK_KEY);

    assertThat(store.exists(CHUNK_KEY)).isFalse();
    assertThatThrownBy(() -> store.open(CHUNK_KEY)).isInstanceOf(NoSuchObjectException.class);
  }

  @Test
  void deletingAMissingObjectIsNotAnError() {
    store.delete(CHUNK_KEY);
    store.delete("never/was/here");

    assertThat(store.exists(CHUNK_KEY)).isFalse();
  }

  @Test
  void concurrentPutsOfTheSameKeyLeaveOneCorrectObjectAndReadersNeverSeeAPartialOne()
      throws Exception {
    byte[] bytes = randomBytes(1024 * 1024, 7);
    int writers = 8;
    ExecutorService pool = Executors.newFixedThreadPool(writers + 1);
    try {
      CountDownLatch start = new CountDownLatch(1);
      AtomicBoolean writing = new AtomicBoolean(true);
      List<Future<?>> puts = new ArrayList<>();
      for (int i = 0; i < writers; i++) {
        Path file = Files.write(scratch.resolve("w" + i), bytes);
        boolean fromFile = i % 2 == 0;
        puts.add(
            pool.submit(
                () -> {
                  start.await();
                  if (fromFile) {
                    store.put(CHUNK_KEY, file);
                  } else {
                    store.put(CHUNK_KEY, bytes);
                  }
                  return null;
                }));
      }
      Future<Integer> reader =
          pool.submit(
              () -> {
                start.await();
                int seen = 0;
                while (writing.get()) {
                  Optional<byte[]> read;
                  try {
                    read = store.getBytes(CHUNK_KEY);
                  } catch (ObjectStoreException e) {
                    if (serverRaceWhileOverwritten(e)) {
                      continue; // an error is not a partial object; the next read looks again
                    }
                    throw e;
                  }
                  if (read.isPresent()) {
                    // compare digests: a failure then prints two short strings, not a megabyte of
                    // array
                    assertThat(sha256(read.get()))
                        .as("a reader sees the whole object or none")
                        .isEqualTo(sha256(bytes));
                    seen++;
                  }
                }
                return seen;
              });

      start.countDown();
      for (Future<?> put : puts) {
        put.get(60, TimeUnit.SECONDS);
      }
      writing.set(false);
      reader.get(60, TimeUnit.SECONDS);
    } finally {
      pool.shutdownNow();
    }

    assertThat(store.getBytes(CHUNK_KEY))
        .hasValueSatisfying(read -> assertThat(read).isEqualTo(bytes));
    try (Stream<String> keys = store.list("")) {
      assertThat(keys).as("no temporary objects are left behind").containsExactly(CHUNK_KEY);
    }
  }

  @Test
  void listReturnsTheKeysUnderAPrefixInOrder() {
    List<String> chunks =
        List.of(
            "chunks/" + "aa".repeat(32), "chunks/" + "ab".repeat(32), "chunks/" + "ba".repeat(32));
    for (String key :
        List.of(
            chunks.get(2),
            chunks.get(0),
            "manifests/01JDQ3ZV7Y5K8N2M4P6R8T0W2X.json",
            chunks.get(1))) {
      store.put(key, key.getBytes(StandardCharsets.UTF_8));
    }

    assertThat(list("chunks/")).containsExactlyElementsOf(chunks);
    assertThat(list("chunks/a")).containsExactly(chunks.get(0), chunks.get(1));
    assertThat(list("chunks")).containsExactlyElementsOf(chunks);
    assertThat(list("manifests/")).containsExactly("manifests/01JDQ3ZV7Y5K8N2M4P6R8T0W2X.json");
    assertThat(list("")).hasSize(4).isSorted();
    assertThat(list("nothing/")).isEmpty();
  }

  @Test
  void listPagesThroughMoreKeysThanOnePage() {
    // S3 returns at most 1000 keys per page; the stream must follow the continuation token
    for (int i = 0; i < 1_050; i++) {
      store.put(String.format("many/%04d", i), new byte[0]);
    }

    assertThat(list("many/"))
        .hasSize(1_050)
        .isSorted()
        .startsWith("many/0000")
        .endsWith("many/1049");
  }

  private List<String> list(String prefix) {
    try (Stream<String> keys = store.list(prefix)) {
      return keys.toList();
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "/chunks/ab",
        "chunks/../x",
        "..",
        ".",
        "chunks/./x",
        "chunks//x",
        "chunks/",
        "a b",
        "a\\b",
        "chunks/ä",
        "a~tmp",
        "a?b",
        "a%2e"
      })
  void invalidKeysAreRejectedByEveryOperation(String key) {
    List<Consumer<String>> operations =
        List.of(
            k -> store.put(k, new byte[1]),
            k -> store.put(k, scratch),
            k -> store.open(k),
            k -> store.openRange(k, 0, 1),
            k -> store.getBytes(k),
            k -> store.exists(k),
            k -> store.size(k),
            k -> store.delete(k),
            k -> store.presignGet(k, Duration.ofMinutes(1)),
            k -> store.presignPut(k, Duration.ofMinutes(1)));
    for (Consumer<String> operation : operations) {
      assertThatThrownBy(() -> operation.accept(key)).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"/", "/chunks", "../", "chunks//", "a b/"})
  void invalidListPrefixesAreRejected(String prefix) {
    assertThatThrownBy(() -> store.list(prefix)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aPresignedGetUrlServesTheObjectToAPlainHttpClientWhereTheStoreSignsUrls() throws Exception {
    byte[] bytes = randomBytes(50_000, 8);
    store.put(CHUNK_KEY, bytes);

    Optional<URI> url = store.presignGet(CHUNK_KEY, Duration.ofMinutes(5));

    if (!signsUrls()) {
      assertThat(url).isEmpty();
      return;
    }
    assertThat(url).isPresent();
    HttpResponse<byte[]> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(url.get()).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo(bytes);
  }

  @Test
  void aPresignedPutUrlStoresWhatAPlainHttpClientSendsWhereTheStoreSignsUrls() throws Exception {
    byte[] bytes = randomBytes(50_000, 9);

    Optional<URI> url = store.presignPut(CHUNK_KEY, Duration.ofMinutes(5));

    if (!signsUrls()) {
      assertThat(url).isEmpty();
      return;
    }
    assertThat(url).isPresent();
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(url.get())
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    assertThat(store.getBytes(CHUNK_KEY))
        .hasValueSatisfying(read -> assertThat(read).isEqualTo(bytes));
  }

  @Test
  void checkPassesOnAUsableStore() {
    store.check();

    assertThat(store.describe()).isNotBlank();
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes))
          + " ("
          + bytes.length
          + " bytes)";
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  private static byte[] slice(byte[] bytes, int offset, int length) {
    byte[] out = new byte[length];
    System.arraycopy(bytes, offset, out, 0, length);
    return out;
  }
}
