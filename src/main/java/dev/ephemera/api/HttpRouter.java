package dev.ephemera.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small router over the JDK's HTTP server: {@code GET /v1/sets/{id}}-style routes, JSON bodies, uniform JSON errors.
 * The JDK server is used because Jetty 12 (Javalin 7) breaks the S3Proxy used in tests, and it adds no dependency.
 */
public final class HttpRouter implements HttpHandler {
  private static final Logger LOGGER = LoggerFactory.getLogger(HttpRouter.class);

  /** Called once per request after it finished: route template (never the raw path), status, seconds. */
  public interface Observer {
    void observe(String method, String route, int status, double seconds);
  }

  /** A route's code. */
  @FunctionalInterface
  public interface Handler {
    Response handle(Request request) throws Exception;
  }

  private record Route(String method, String template, Pattern pattern, List<String> names, Handler handler) {}

  private final List<Route> routes = new ArrayList<>();
  private final ObjectMapper json;
  private final Observer observer;

  public HttpRouter(ObjectMapper json, Observer observer) {
    this.json = json;
    this.observer = observer;
  }

  /** Adds a route; {@code {name}} matches one path segment, {@code {name...}} the rest of the path. */
  public HttpRouter route(String method, String template, Handler handler) {
    List<String> names = new ArrayList<>();
    Matcher m = Pattern.compile("\\{([a-z_]+)(\\.\\.\\.)?}").matcher(template);
    StringBuilder regex = new StringBuilder();
    int last = 0;
    while (m.find()) {
      regex.append(Pattern.quote(template.substring(last, m.start())));
      regex.append(m.group(2) != null ? "(.+)" : "([^/]+)");
      names.add(m.group(1));
      last = m.end();
    }
    regex.append(Pattern.quote(template.substring(last)));
    routes.add(new Route(method, template, Pattern.compile(regex.toString()), names, handler));
    return this;
  }

  @Override
  public void handle(HttpExchange exchange) throws IOException {
    long start = System.nanoTime();
    String path = exchange.getRequestURI().getRawPath();
    String template = "unmatched";
    int status = 500;
    try {
      Route matched = null;
      Matcher matcher = null;
      boolean pathKnown = false;
      for (Route route : routes) {
        Matcher m = route.pattern.matcher(path);
        if (m.matches()) {
          pathKnown = true;
          if (route.method.equals(exchange.getRequestMethod())) {
            matched = route;
            matcher = m;
            break;
          }
        }
      }
      if (matched == null) {
        throw pathKnown
            ? new ApiException(405, "method_not_allowed", exchange.getRequestMethod() + " is not allowed on " + path)
            : ApiException.notFound("no such endpoint: " + path);
      }
      template = matched.template;
      Map<String, String> params = new LinkedHashMap<>();
      for (int i = 0; i < matched.names.size(); i++) {
        params.put(matched.names.get(i), URLDecoder.decode(matcher.group(i + 1), StandardCharsets.UTF_8));
      }
      Response response = matched.handler.handle(new Request(exchange, params, query(exchange), json));
      status = response.status();
      response.send(exchange, json);
    } catch (ApiException e) {
      status = e.status();
      sendError(exchange, e.status(), e.code(), e.getMessage());
    } catch (Exception e) {
      status = 500;
      LOGGER.atError().addKeyValue("route", template).setCause(e).log("request failed");
      sendError(exchange, 500, "internal", "internal error: " + e.getClass().getSimpleName() + ": " + e.getMessage());
    } finally {
      exchange.close();
      observer.observe(exchange.getRequestMethod(), template, status, (System.nanoTime() - start) / 1e9);
    }
  }

  private void sendError(HttpExchange exchange, int status, String code, String message) {
    try {
      byte[] body = json.writeValueAsBytes(Map.of("error", code, "message", message == null ? "" : message));
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(status, body.length);
      exchange.getResponseBody().write(body);
    } catch (IOException | IllegalStateException e) {
      // headers already sent (a streaming response failed midway): the client sees a truncated body
      LOGGER.atDebug().setCause(e).log("could not send error response");
    }
  }

  private static Map<String, String> query(HttpExchange exchange) {
    Map<String, String> query = new LinkedHashMap<>();
    String raw = exchange.getRequestURI().getRawQuery();
    if (raw != null) {
      for (String pair : raw.split("&")) {
        int eq = pair.indexOf('=');
        String key = eq < 0 ? pair : pair.substring(0, eq);
        String value = eq < 0 ? "" : pair.substring(eq + 1);
        query.put(
            URLDecoder.decode(key, StandardCharsets.UTF_8), URLDecoder.decode(value, StandardCharsets.UTF_8));
      }
    }
    return query;
  }

  /** One request: path parameters, query, headers and body. */
  public record Request(HttpExchange exchange, Map<String, String> params, Map<String, String> query, ObjectMapper json) {
    public String param(String name) {
      return params.get(name);
    }

    public Optional<String> header(String name) {
      return Optional.ofNullable(exchange.getRequestHeaders().getFirst(name));
    }

    /** The bearer token of the Authorization header, or empty. */
    public Optional<String> bearer() {
      return header("Authorization").filter(h -> h.startsWith("Bearer ")).map(h -> h.substring(7).trim());
    }

    /** The body, refusing more than {@code limit} bytes with 413. */
    public byte[] body(int limit) throws IOException {
      try (InputStream in = exchange.getRequestBody()) {
        byte[] bytes = in.readNBytes(limit + 1);
        if (bytes.length > limit) {
          throw new ApiException(413, "too_large", "request body larger than " + limit + " bytes");
        }
        return bytes;
      }
    }

    public <T> T json(Class<T> type, int limit) throws IOException {
      byte[] body = body(limit);
      try {
        return json.readValue(body, type);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw ApiException.badRequest("malformed JSON body: " + e.getOriginalMessage());
      } catch (IllegalArgumentException | NullPointerException e) {
        throw ApiException.badRequest("invalid body: " + e.getMessage());
      }
    }
  }

  /** What a handler answers. */
  public interface Response {
    int status();

    void send(HttpExchange exchange, ObjectMapper json) throws IOException;

    static Response json(int status, Object body) {
      return new Response() {
        public int status() {
          return status;
        }

        public void send(HttpExchange exchange, ObjectMapper json) throws IOException {
          byte[] bytes = json.writeValueAsBytes(body);
          exchange.getResponseHeaders().set("Content-Type", "application/json");
          exchange.sendResponseHeaders(status, bytes.length);
          exchange.getResponseBody().write(bytes);
        }
      };
    }

    static Response ok(Object body) {
      return json(200, body);
    }

    static Response bytes(int status, String contentType, byte[] body) {
      return new Response() {
        public int status() {
          return status;
        }

        public void send(HttpExchange exchange, ObjectMapper json) throws IOException {
          exchange.getResponseHeaders().set("Content-Type", contentType);
          exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
          if (body.length > 0) {
            exchange.getResponseBody().write(body);
          }
        }
      };
    }

    /** A streamed body of known or unknown ({@code length < 0}) length. */
    static Response stream(String contentType, long length, Map<String, String> headers, BodyWriter writer) {
      return new Response() {
        public int status() {
          return 200;
        }

        public void send(HttpExchange exchange, ObjectMapper json) throws IOException {
          exchange.getResponseHeaders().set("Content-Type", contentType);
          headers.forEach((k, v) -> exchange.getResponseHeaders().set(k, v));
          exchange.sendResponseHeaders(200, length < 0 ? 0 : length);
          try (OutputStream out = exchange.getResponseBody()) {
            writer.write(out);
          }
        }
      };
    }
  }

  /** Writes a streamed body. */
  @FunctionalInterface
  public interface BodyWriter {
    void write(OutputStream out) throws IOException;
  }
}
