package dev.ephemera.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ephemera.event.EventCodec;
import java.io.IOException;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.StringJoiner;

/** Calls of the admin HTTP API ({@code /v1/admin/...}) with the admin token; any non-2xx answer is a failed check. */
final class AdminHttp {
  static final ObjectMapper JSON = EventCodec.newMapper();

  private final AdminCommand.AdminApi options;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  AdminHttp(AdminCommand.AdminApi options) {
    this.options = options;
  }

  JsonNode get(String path) throws IOException, InterruptedException {
    return send(request(path).GET().build());
  }

  JsonNode put(String path, Object body) throws IOException, InterruptedException {
    return send(
        request(path)
            .header("Content-Type", "application/json")
            .PUT(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)))
            .build());
  }

  JsonNode delete(String path) throws IOException, InterruptedException {
    return send(request(path).DELETE().build());
  }

  /** {@code path?k=v&...} with the non-null parameters, URL-encoded. */
  static String query(String path, Map<String, String> params) {
    StringJoiner q = new StringJoiner("&");
    params.forEach(
        (k, v) -> {
          if (v != null) {
            q.add(k + "=" + URLEncoder.encode(v, StandardCharsets.UTF_8));
          }
        });
    return q.length() == 0 ? path : path + "?" + q;
  }

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(options.url().resolve(path))
        .timeout(Duration.ofSeconds(60))
        .header("Authorization", "Bearer " + options.token())
        .header("User-Agent", "ephemera-admin");
  }

  private JsonNode send(HttpRequest request) throws IOException, InterruptedException {
    HttpResponse<byte[]> response;
    try {
      response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
    } catch (java.net.ConnectException e) {
      throw new CliFailure(CliFailure.Kind.CHECK, "cannot reach Ephemera at " + options.url() + ": " + e.getMessage());
    }
    if (response.statusCode() / 100 != 2) {
      String message = new String(response.body(), StandardCharsets.UTF_8);
      try {
        JsonNode node = JSON.readTree(response.body());
        if (node != null && node.has("message")) {
          message = node.get("message").asText();
        }
      } catch (IOException | RuntimeException e) {
        // not JSON: the raw body is the message
      }
      throw new CliFailure(CliFailure.Kind.CHECK, "HTTP " + response.statusCode() + ": " + message);
    }
    return response.body().length == 0 ? JSON.createObjectNode() : JSON.readTree(response.body());
  }

  static String pretty(JsonNode node) throws IOException {
    return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node);
  }
}
