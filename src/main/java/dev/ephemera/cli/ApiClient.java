package dev.ephemera.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.util.RawValue;
import dev.ephemera.api.SetView;
import dev.ephemera.archive.ChunkSink;
import dev.ephemera.archive.ChunkSource;
import dev.ephemera.archive.FilesCache;
import dev.ephemera.archive.Manifest;
import dev.ephemera.event.EventCodec;
import dev.ephemera.net.PlainHttp;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntFunction;

/**
 * The job side of the HTTP API. Transient trouble (connection refused, 5xx, 409 "job not known yet", timeouts) is
 * retried with backoff until the command's deadline; anything else is answered at once.
 */
public final class ApiClient {
  private static final ObjectMapper JSON = EventCodec.newMapper();
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);
  /** Reads one value in the middle of a document (the mapper refuses tokens after a root value). */
  private static final com.fasterxml.jackson.databind.ObjectReader NESTED =
      JSON.reader().without(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

  private final URI base;
  private final String token;
  private final String job;
  private final long deadline;

  public ApiClient(URI base, String token, String job, Duration timeout) {
    this.base = base;
    this.token = token;
    this.job = job;
    this.deadline = System.nanoTime() + timeout.toNanos();
  }

  public String job() {
    return job;
  }

  /** An HTTP answer that is not a success, with the server's message. */
  public static final class ApiError extends IOException {
    final int status;
    final String code;

    ApiError(int status, String code, String message) {
      super(message);
      this.status = status;
      this.code = code;
    }

    public int status() {
      return status;
    }
  }

  /** The set this job gets for a name, or why there is none. */
  public record Resolution(Optional<SetView> set, String missReason) {}

  /** The set this job gets for {@code name}; a 404 is a miss, with the server's explanation. */
  public Resolution resolve(String name) throws IOException {
    try {
      return new Resolution(
          Optional.of(JSON.treeToValue(getJson("/v1/jobs/" + job + "/sets/" + name), SetView.class)), "");
    } catch (ApiError e) {
      if (e.status == 404) {
        return new Resolution(Optional.empty(), e.getMessage());
      }
      throw e;
    }
  }

  /** The job as the worker recorded it from {@code job.started}: its scopes and declared sets. */
  public dev.ephemera.api.JobApi.JobView jobView() throws IOException {
    return JSON.treeToValue(getJson("/v1/jobs/" + job), dev.ephemera.api.JobApi.JobView.class);
  }

  public List<SetView> staged() throws IOException {
    JsonNode sets = getJson("/v1/jobs/" + job + "/staged").get("sets");
    List<SetView> out = new ArrayList<>();
    for (JsonNode s : sets) {
      out.add(JSON.treeToValue(s, SetView.class));
    }
    return out;
  }

  /**
   * The set's manifest without its {@code files} list (empty in the result): what a restore needs (chunks, digests,
   * root), without fetching and decoding an entry per file. The chunk hashes cover every entry anyway.
   */
  public Manifest manifestWithoutFiles(String setId) throws IOException {
    return withoutFiles(get("/v1/jobs/" + job + "/sets/" + setId + "/manifest?files=false"));
  }

  /**
   * The set's chunks, from its manifest fetched without its {@code files} (no file digests in the result): what a
   * persist reusing a restored set's chunks checks its record against. A persist computes no file digests (the worker
   * lists the stream), so it needs none of the restored set's, which were megabytes for a set of many files.
   */
  public FilesCache.Restored restoredManifest(String setId) throws IOException {
    return restoredManifest(get("/v1/jobs/" + job + "/sets/" + setId + "/manifest?files=false"));
  }

  /** The chunks and regular files of a manifest, read as a stream (no tree of 35,000 objects). */
  static FilesCache.Restored restoredManifest(byte[] json) throws IOException {
    Map<String, String> digests = new java.util.HashMap<>();
    List<String> chunks = new java.util.ArrayList<>();
    try (com.fasterxml.jackson.core.JsonParser p = JSON.getFactory().createParser(json)) {
      if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
        throw new IOException("the manifest is not a JSON object");
      }
      while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
        String field = p.getCurrentName();
        com.fasterxml.jackson.core.JsonToken value = p.nextToken();
        if (!(field.equals("files") || field.equals("chunks"))
            || value != com.fasterxml.jackson.core.JsonToken.START_ARRAY) {
          p.skipChildren();
          continue;
        }
        while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
          String path = null;
          String type = null;
          String sha = null;
          while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
            String name = p.getCurrentName();
            p.nextToken();
            switch (name) {
              case "path" -> path = p.getText();
              case "type" -> type = p.getText();
              case "sha256" -> sha = p.getText();
              default -> p.skipChildren();
            }
          }
          if (field.equals("chunks")) {
            chunks.add(sha);
          } else if ("file".equals(type) && path != null && sha != null) {
            digests.put(path, sha);
          }
        }
      }
    }
    return new FilesCache.Restored(chunks, digests);
  }

  /** Parses a manifest, skipping its {@code files} (a worker that ignores {@code files=false} still sends them). */
  static Manifest withoutFiles(byte[] json) throws IOException {
    com.fasterxml.jackson.databind.node.ObjectNode rest = JSON.createObjectNode();
    try (com.fasterxml.jackson.core.JsonParser p = JSON.getFactory().createParser(json)) {
      if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
        throw new IOException("the manifest is not a JSON object");
      }
      while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
        String field = p.getCurrentName();
        p.nextToken();
        if (field.equals("files")) {
          p.skipChildren();
        } else {
          rest.set(field, NESTED.readTree(p));
        }
      }
    }
    rest.putArray("files");
    try {
      return Manifest.fromJson(JSON.writeValueAsString(rest));
    } catch (IllegalArgumentException e) {
      throw new IOException("the worker sent an invalid manifest: " + e.getMessage(), e);
    }
  }

  public SetView register(String name, String when, Manifest manifest) throws IOException {
    return register(name, when, manifest, null, true);
  }

  /**
   * Registers a set whose chunks went through {@code sink} (nullable): the worker has digested them as they arrived.
   *
   * @param waitForVerification answer with the worker's digests; otherwise as soon as every chunk is known stored,
   *     with status {@code verifying} and no digests (the set cannot go live before the worker has verified it)
   */
  public SetView register(String name, String when, Manifest manifest, UploadSink sink, boolean waitForVerification)
      throws IOException {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("name", name);
    body.put("when", when);
    // without its entries: the worker lists them from the stream it stores (written as it is: not parsed again)
    body.put("manifest", new RawValue(manifest.withoutFiles().toJson()));
    if (sink != null) {
      body.put("upload_session", sink.session());
    }
    body.put("wait_for_verification", waitForVerification);
    byte[] answer = post("/v1/jobs/" + job + "/sets", JSON.writeValueAsBytes(body));
    return JSON.readValue(answer, SetView.class);
  }

  public void restored(String setId) throws IOException {
    post("/v1/jobs/" + job + "/restores", JSON.writeValueAsBytes(Map.of("set_id", setId)));
  }

  /** Chunks go to the worker, which verifies each before storing it. */
  public UploadSink sink() {
    return new UploadSink(dev.ephemera.event.Ulid.next());
  }

  /**
   * One persist's uploads, in one upload session: the worker learns each chunk's stream position from the {@code
   * present} calls and digests the stream while chunks arrive, so registering it only finishes the digest.
   */
  public final class UploadSink implements ChunkSink {
    private final String session;

    private UploadSink(String session) {
      this.session = session;
    }

    public String session() {
      return session;
    }

    @Override
    public Map<String, Long> present(Collection<String> sha256s) throws IOException {
      return present(sha256s, -1, null);
    }

    @Override
    public Map<String, Long> present(Collection<String> sha256s, long first, List<String> order) throws IOException {
      Map<String, Object> request = new LinkedHashMap<>();
      request.put("sha256", List.copyOf(sha256s));
      if (order != null) {
        request.put("session", session);
        request.put("first", first);
        request.put("order", order);
      }
      JsonNode answer = JSON.readTree(post("/v1/jobs/" + job + "/chunks/present", JSON.writeValueAsBytes(request)));
      Map<String, Long> present = new LinkedHashMap<>();
      answer.get("present").fields().forEachRemaining(e -> present.put(e.getKey(), e.getValue().asLong()));
      return present;
    }

    @Override
    public void put(String sha256, byte[] frame, int rawSize) throws IOException {
      put(sha256, frame, frame.length, rawSize);
    }

    /** Sends {@code frame[0, frameLength)} as it is: nothing is kept once this returns. */
    @Override
    public void put(String sha256, byte[] frame, int frameLength, int rawSize) throws IOException {
      send(
          "PUT", "/v1/jobs/" + job + "/chunks/" + sha256, frame, frameLength,
          Map.of("Content-Type", "application/zstd", dev.ephemera.api.JobApi.UPLOAD_SESSION_HEADER, session));
    }

    /**
     * Sends a chunk patch; -1 when the worker refuses it for any reason of its own (base set gone or unreadable, a base
     * chunk missing, an older worker without the route): the writer then sends the frame, which the worker judges on
     * its own. Trouble reaching the worker is thrown, as for a frame.
     */
    @Override
    public long putPatch(String sha256, byte[] body, int rawSize) throws IOException {
      byte[] answer;
      try {
        answer =
            send(
                "PUT", "/v1/jobs/" + job + "/chunks/" + sha256 + "/patch", body, body.length,
                Map.of("Content-Type", "application/vnd.ephemera.chunk-patch", dev.ephemera.api.JobApi.UPLOAD_SESSION_HEADER,
                    session));
      } catch (ApiError e) {
        patchesRefused.incrementAndGet();
        lastPatchRefusal = e.getMessage();
        return -1;
      }
      return JSON.readTree(answer).path("stored_size").asLong(-1);
    }
  }

  private final java.util.concurrent.atomic.AtomicInteger patchesRefused = new java.util.concurrent.atomic.AtomicInteger();
  private volatile String lastPatchRefusal;

  /** Patches the worker refused (their chunks were sent whole), and the reason of the last one; for the persist's report. */
  public int patchesRefused() {
    return patchesRefused.get();
  }

  public String lastPatchRefusal() {
    return lastPatchRefusal;
  }

  /**
   * Where a restore gets the set's chunks: straight from the object store by the presigned URLs the worker hands out
   * for this set's chunks, when it does (an S3 store with {@code s3.direct-downloads}), else through the worker. A
   * direct fetch that fails in any way is retried through the worker; after a failure to connect, the rest go through
   * the worker too. Nothing fetched is trusted: the restorer checks every chunk against its sha256 either way.
   */
  public ChunkSource source(String setId) throws IOException {
    Map<String, URI> direct = chunkUrls(setId);
    ChunkSource proxied = sha256 -> get("/v1/jobs/" + job + "/sets/" + setId + "/chunks/" + sha256);
    if (direct.isEmpty()) {
      return proxied;
    }
    java.util.concurrent.atomic.AtomicBoolean unreachable = new java.util.concurrent.atomic.AtomicBoolean();
    return new ChunkSource() {
      @Override
      public byte[] fetch(String sha256) throws IOException {
        Frame frame = fetch(sha256, byte[]::new);
        return frame.length() == frame.bytes().length ? frame.bytes() : Arrays.copyOf(frame.bytes(), frame.length());
      }

      /** Direct GETs read into the restore's recycled arrays; the fallback through the worker does not. */
      @Override
      public Frame fetch(String sha256, IntFunction<byte[]> arrays) throws IOException {
        URI url = direct.get(sha256);
        if (url != null && !unreachable.get()) {
          try {
            Frame frame = directGet(url, arrays);
            if (frame != null) {
              return frame;
            }
          } catch (ConnectException | java.net.SocketTimeoutException | java.net.UnknownHostException e) {
            unreachable.set(true);
          } catch (IOException e) {
            // a reset or a short body: this chunk through the worker
          }
        }
        byte[] frame = proxied.fetch(sha256);
        return new Frame(frame, frame.length);
      }
    };
  }

  static {
    // Persists upload and restores fetch chunks on several threads over HttpURLConnection (ChunkPut, directGet): keep a
    // connection per thread alive, so none reconnects (the JDK keeps 5 per destination by default).
    if (System.getProperty("http.maxConnections") == null) {
      System.setProperty("http.maxConnections", "32");
    }
  }

  /**
   * One presigned GET with a plain blocking connection (far less machinery, and JIT work in a short-lived CLI, than the
   * asynchronous client for hundreds of megabyte-sized bodies); the body read whole, into an array from {@code arrays}.
   * Null for an answer other than 200.
   */
  private static ChunkSource.Frame directGet(URI url, IntFunction<byte[]> arrays) throws IOException {
    PlainHttp.Answer answer =
        PlainHttp.exchange(
            "GET", url, Map.of("User-Agent", "ephemera-cli"), null, CONNECT_TIMEOUT, REQUEST_TIMEOUT, MAX_FRAME_BYTES,
            arrays);
    return answer.status() == 200 ? new ChunkSource.Frame(answer.body(), answer.length()) : null;
  }

  /** No stored frame is larger (the worker refuses bigger uploads): a bound on what a direct GET reads. */
  private static final int MAX_FRAME_BYTES = dev.ephemera.archive.ChunkFrames.MAX_RAW_SIZE + (1 << 20);

  /** Presigned URLs of the set's chunks by sha256; empty when the worker gives none (or is older than them). */
  private Map<String, URI> chunkUrls(String setId) throws IOException {
    JsonNode answer;
    try {
      answer = getJson("/v1/jobs/" + job + "/sets/" + setId + "/chunk-urls");
    } catch (ApiError e) {
      if (e.status == 404) {
        return Map.of(); // a worker older than the route; a set that is really gone fails its chunk fetches the same
      }
      throw e;
    }
    Map<String, URI> urls = new java.util.HashMap<>();
    answer.path("chunks").fields().forEachRemaining(e -> urls.put(e.getKey(), URI.create(e.getValue().asText())));
    return urls;
  }

  private JsonNode getJson(String path) throws IOException {
    return JSON.readTree(get(path));
  }

  private byte[] get(String path) throws IOException {
    return send("GET", path, null, Map.of());
  }

  private byte[] post(String path, byte[] json) throws IOException {
    return send("POST", path, json, Map.of("Content-Type", "application/json"));
  }

  /** Sends with retries for transient trouble until the deadline; the answer's body. */
  private byte[] send(String method, String path, byte[] body, Map<String, String> extraHeaders) throws IOException {
    return send(method, path, body, body == null ? 0 : body.length, extraHeaders);
  }

  /** {@code method path} with {@code body[0, bodyLength)} (none when null), retried; the answer's body. */
  private byte[] send(String method, String path, byte[] body, int bodyLength, Map<String, String> extraHeaders)
      throws IOException {
    URI url = base.resolve(path);
    Map<String, String> headers = new LinkedHashMap<>(extraHeaders);
    headers.put("Authorization", "Bearer " + token);
    headers.put("User-Agent", "ephemera-cli");
    long backoffMs = 200;
    while (true) {
      IOException failure;
      try {
        PlainHttp.Answer answer =
            PlainHttp.exchange(
                method, url, headers, body, bodyLength, CONNECT_TIMEOUT, REQUEST_TIMEOUT, Integer.MAX_VALUE - 16,
                null);
        if (answer.status() / 100 == 2) {
          return answer.body();
        }
        ApiError error = error(answer.status(), answer.body());
        if (!transientError(error)) {
          throw error;
        }
        failure = error;
      } catch (ConnectException | java.net.SocketTimeoutException e) {
        failure = new IOException("cannot reach Ephemera at " + base + ": " + e.getMessage(), e);
      } catch (ApiError | java.io.InterruptedIOException e) {
        throw e;
      } catch (IOException e) {
        failure = new IOException("talking to Ephemera at " + base + " failed: " + e.getMessage(), e);
      }
      backoffMs = backOff(failure, backoffMs);
    }
  }

  /** Waits before the next attempt, or throws {@code failure} when the deadline has passed; the next backoff. */
  private long backOff(IOException failure, long backoffMs) throws IOException {
    long left = (deadline - System.nanoTime()) / 1_000_000;
    if (left <= 0) {
      throw failure;
    }
    try {
      Thread.sleep(Math.min(backoffMs, left));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw failure;
    }
    return Math.min(5000, backoffMs * 2);
  }

  private static boolean transientError(ApiError error) {
    return error.status >= 500 || error.status == 429 || (error.status == 409 && "job_unknown".equals(error.code));
  }

  private static ApiError error(int status, byte[] body) {
    String code = "http_" + status;
    String message = new String(body, StandardCharsets.UTF_8);
    try {
      JsonNode node = JSON.readTree(body);
      if (node != null && node.has("message")) {
        message = node.get("message").asText();
        code = node.path("error").asText(code);
      }
    } catch (IOException | RuntimeException e) {
      // not JSON: keep the raw body as the message
    }
    return new ApiError(status, code, message);
  }
}
