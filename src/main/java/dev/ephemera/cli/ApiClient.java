package dev.ephemera.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ephemera.api.SetView;
import dev.ephemera.archive.ChunkSink;
import dev.ephemera.archive.ChunkSource;
import dev.ephemera.archive.Manifest;
import dev.ephemera.event.EventCodec;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The job side of the HTTP API. Transient trouble (connection refused, 5xx, 409 "job not known yet", timeouts) is
 * retried with backoff until the command's deadline; anything else is answered at once.
 */
public final class ApiClient {
  private static final ObjectMapper JSON = EventCodec.newMapper();
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

  private final URI base;
  private final String token;
  private final String job;
  private final long deadline;
  private final HttpClient http;

  public ApiClient(URI base, String token, String job, Duration timeout) {
    this.base = base;
    this.token = token;
    this.job = job;
    this.deadline = System.nanoTime() + timeout.toNanos();
    this.http =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(10))
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build();
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

  public Manifest manifest(String setId) throws IOException {
    byte[] body = send(get("/v1/jobs/" + job + "/sets/" + setId + "/manifest"));
    return Manifest.fromJson(new String(body, StandardCharsets.UTF_8));
  }

  public SetView register(String name, String when, Manifest manifest) throws IOException {
    return register(name, when, manifest, null);
  }

  /** Registers a set whose chunks went through {@code sink}: the worker has digested them as they arrived. */
  public SetView register(String name, String when, Manifest manifest, UploadSink sink) throws IOException {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("name", name);
    body.put("when", when);
    body.put("manifest", JSON.readTree(manifest.toJson()));
    if (sink != null) {
      body.put("upload_session", sink.session());
    }
    byte[] answer = send(post("/v1/jobs/" + job + "/sets", JSON.writeValueAsBytes(body)));
    return JSON.readValue(answer, SetView.class);
  }

  public void restored(String setId) throws IOException {
    send(post("/v1/jobs/" + job + "/restores", JSON.writeValueAsBytes(Map.of("set_id", setId))));
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
      JsonNode answer = JSON.readTree(send(post("/v1/jobs/" + job + "/chunks/present", JSON.writeValueAsBytes(request))));
      Map<String, Long> present = new LinkedHashMap<>();
      answer.get("present").fields().forEachRemaining(e -> present.put(e.getKey(), e.getValue().asLong()));
      return present;
    }

    @Override
    public void put(String sha256, byte[] frame, int rawSize) throws IOException {
      URI url = base.resolve("/v1/jobs/" + job + "/chunks/" + sha256);
      Map<String, String> headers =
          Map.of(
              "Authorization", "Bearer " + token,
              "User-Agent", "ephemera-cli",
              "Content-Type", "application/zstd",
              dev.ephemera.api.JobApi.UPLOAD_SESSION_HEADER, session);
      // The same retry policy as send(), over the cheaper transport.
      long backoffMs = 200;
      while (true) {
        IOException failure;
        try {
          ChunkPut.Answer answer = ChunkPut.put(url, headers, frame, CONNECT_TIMEOUT, REQUEST_TIMEOUT);
          if (answer.status() / 100 == 2) {
            return;
          }
          ApiError error = error(answer.status(), answer.body());
          if (!transientError(error)) {
            throw error;
          }
          failure = error;
        } catch (ConnectException | java.net.SocketTimeoutException e) {
          failure = new IOException("cannot reach Ephemera at " + base + ": " + e.getMessage(), e);
        } catch (ApiError e) {
          throw e;
        } catch (java.io.InterruptedIOException e) {
          throw e;
        } catch (IOException e) {
          failure = new IOException("talking to Ephemera at " + base + " failed: " + e.getMessage(), e);
        }
        backoffMs = backOff(failure, backoffMs);
      }
    }
  }

  public ChunkSource source(String setId) {
    return sha256 -> send(get("/v1/jobs/" + job + "/sets/" + setId + "/chunks/" + sha256));
  }

  private JsonNode getJson(String path) throws IOException {
    return JSON.readTree(send(get(path)));
  }

  private HttpRequest get(String path) {
    return request(path).GET().build();
  }

  private HttpRequest post(String path, byte[] json) {
    return request(path)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(json))
        .build();
  }

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(base.resolve(path))
        .timeout(REQUEST_TIMEOUT)
        .header("Authorization", "Bearer " + token)
        .header("User-Agent", "ephemera-cli");
  }

  /** Sends with retries for transient trouble until the deadline. */
  private byte[] send(HttpRequest request) throws IOException {
    long backoffMs = 200;
    while (true) {
      IOException failure;
      try {
        HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        int status = response.statusCode();
        if (status / 100 == 2) {
          return response.body();
        }
        ApiError error = error(response);
        boolean transientError = status >= 500 || status == 429 || (status == 409 && "job_unknown".equals(error.code));
        if (!transientError) {
          throw error;
        }
        failure = error;
      } catch (ConnectException | HttpTimeoutException e) {
        failure = new IOException("cannot reach Ephemera at " + base + ": " + e.getMessage(), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      } catch (ApiError e) {
        throw e;
      } catch (IOException e) {
        failure = new IOException("talking to Ephemera at " + base + " failed: " + e.getMessage(), e);
      }
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
      backoffMs = Math.min(5000, backoffMs * 2);
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

  private static ApiError error(HttpResponse<byte[]> response) {
    return error(response.statusCode(), response.body());
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
