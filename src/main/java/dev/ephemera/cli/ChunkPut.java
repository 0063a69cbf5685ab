package dev.ephemera.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.time.Duration;
import java.util.Map;

/**
 * The chunk upload of a persist: one {@code PUT} per chunk over {@link HttpURLConnection} with a fixed-length body,
 * written straight from the frame's array to the socket, on kept-alive connections (how many: {@link ApiClient}).
 * {@code java.net.http.HttpClient} copies a byte-array body into 16 KiB heap buffers and hands them through its
 * selector thread, which made the uploads of a persist one of its larger CPU costs. Transient trouble is retried as
 * every other API call is.
 */
final class ChunkPut {
  /** The answer: status and body. */
  record Answer(int status, byte[] body) {}

  private ChunkPut() {}

  /**
   * One attempt: {@code PUT url} with {@code body}, the given headers and timeouts.
   *
   * @throws ConnectException when the server cannot be reached
   * @throws SocketTimeoutException when it does not answer in time
   */
  static Answer put(URI url, Map<String, String> headers, byte[] body, Duration connectTimeout, Duration timeout)
      throws IOException {
    HttpURLConnection c = (HttpURLConnection) url.toURL().openConnection();
    boolean reusable = false;
    try {
      c.setRequestMethod("PUT");
      c.setDoOutput(true);
      c.setUseCaches(false);
      c.setInstanceFollowRedirects(false);
      c.setConnectTimeout((int) connectTimeout.toMillis());
      c.setReadTimeout((int) timeout.toMillis());
      c.setFixedLengthStreamingMode(body.length);
      headers.forEach(c::setRequestProperty);
      try (OutputStream out = c.getOutputStream()) {
        out.write(body);
      }
      int status = c.getResponseCode();
      InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream();
      byte[] answer = new byte[0];
      if (in != null) {
        try (in) {
          answer = in.readAllBytes(); // read to the end: the connection goes back to the keep-alive cache
        }
      }
      reusable = true;
      return new Answer(status, answer);
    } finally {
      if (!reusable) {
        c.disconnect();
      }
    }
  }
}
