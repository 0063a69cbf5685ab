package dev.ephemera.net;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * One HTTP request over {@link HttpURLConnection}: a fixed-length body written straight from its array to the socket,
 * the answer read into an array of the announced length, on kept-alive connections. Every exchange of a job-side
 * command goes this way (dev.ephemera.cli.ApiClient, which also sets how many connections are kept), and so do the S3
 * store's presigned PUTs over plain http. {@code java.net.http.HttpClient} copies byte-array bodies into 16 KiB
 * heap buffers and hands them through its selector thread, which made a persist's uploads one of its larger CPU costs;
 * and creating one sets up TLS (its default SSL context) even for plain {@code http://}, about 0.2 s of every
 * command's start. Retries are the caller's.
 */
public final class PlainHttp {
  /** The answer: status and body, {@code body[0, length)} (the array may be longer when the caller gave it). */
  public record Answer(int status, byte[] body, int length) {
    public Answer(int status, byte[] body) {
      this(status, body, body.length);
    }
  }

  private PlainHttp() {}

  /**
   * One attempt: {@code method url} with {@code body} (none when null), the given headers and timeouts. A GET follows
   * redirects; the body read is at most {@code maxBody} bytes.
   *
   * @throws ConnectException when the server cannot be reached
   * @throws SocketTimeoutException when it does not answer in time
   */
  public static Answer exchange(
      String method, URI url, Map<String, String> headers, byte[] body, Duration connectTimeout, Duration timeout,
      int maxBody)
      throws IOException {
    return exchange(method, url, headers, body, connectTimeout, timeout, maxBody, null);
  }

  /**
   * As {@link #exchange(String, URI, Map, byte[], Duration, Duration, int)}; a 200 answer of announced length is read
   * into an array {@code into} gives for that length (at least that long), when {@code into} is not null.
   */
  public static Answer exchange(
      String method, URI url, Map<String, String> headers, byte[] body, Duration connectTimeout, Duration timeout,
      int maxBody, IntFunction<byte[]> into)
      throws IOException {
    return exchange(
        method, url, headers, body, body == null ? 0 : body.length, connectTimeout, timeout, maxBody, into);
  }

  /**
   * As {@link #exchange(String, URI, Map, byte[], Duration, Duration, int, IntFunction)}, sending {@code body[0,
   * bodyLength)} (none when {@code body} is null).
   */
  public static Answer exchange(
      String method, URI url, Map<String, String> headers, byte[] body, int bodyLength, Duration connectTimeout,
      Duration timeout, int maxBody, IntFunction<byte[]> into)
      throws IOException {
    HttpURLConnection c = (HttpURLConnection) url.toURL().openConnection();
    boolean reusable = false;
    try {
      c.setRequestMethod(method);
      c.setUseCaches(false);
      c.setInstanceFollowRedirects(method.equals("GET"));
      c.setConnectTimeout((int) connectTimeout.toMillis());
      c.setReadTimeout((int) timeout.toMillis());
      headers.forEach(c::setRequestProperty);
      if (body != null) {
        c.setDoOutput(true);
        c.setFixedLengthStreamingMode(bodyLength);
        try (OutputStream out = c.getOutputStream()) {
          out.write(body, 0, bodyLength);
        }
      }
      int status = c.getResponseCode();
      InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream();
      Answer answer = new Answer(status, new byte[0]);
      if (in != null) {
        try (in) {
          answer = readBody(status, in, c.getContentLengthLong(), maxBody, status == 200 ? into : null);
        }
      }
      reusable = true; // read to the end: the connection goes back to the keep-alive cache
      return answer;
    } finally {
      if (!reusable) {
        c.disconnect();
      }
    }
  }

  /** A HEAD's answer: status and the announced length of what a GET would return (-1 when not announced). */
  public record Head(int status, long contentLength) {}

  /** One HEAD request, on kept-alive connections as {@link #exchange}. */
  public static Head head(URI url, Duration connectTimeout, Duration timeout) throws IOException {
    HttpURLConnection c = (HttpURLConnection) url.toURL().openConnection();
    boolean reusable = false;
    try {
      c.setRequestMethod("HEAD");
      c.setUseCaches(false);
      c.setInstanceFollowRedirects(false);
      c.setConnectTimeout((int) connectTimeout.toMillis());
      c.setReadTimeout((int) timeout.toMillis());
      int status = c.getResponseCode();
      long length = c.getContentLengthLong();
      InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream();
      if (in != null) {
        in.close(); // no body follows a HEAD: the connection goes back to the keep-alive cache
      }
      reusable = true;
      return new Head(status, length);
    } finally {
      if (!reusable) {
        c.disconnect();
      }
    }
  }

  private static Answer readBody(int status, InputStream in, long length, int maxBody, IntFunction<byte[]> into)
      throws IOException {
    if (length > maxBody) {
      throw new IOException("an answer of " + length + " bytes is larger than the " + maxBody + " expected at most");
    }
    if (length < 0) {
      byte[] body = in.readNBytes(maxBody);
      if (in.read() >= 0) {
        throw new IOException("an answer larger than the " + maxBody + " bytes expected at most");
      }
      return new Answer(status, body);
    }
    // straight into an array of the announced length (readNBytes(int) would gather 8 KiB pieces and copy them)
    int n = (int) length;
    byte[] body = into == null ? new byte[n] : into.apply(n);
    if (body.length < n) {
      throw new IllegalStateException("an array of " + body.length + " bytes for an answer of " + n);
    }
    if (in.readNBytes(body, 0, n) != n) {
      throw new IOException("short answer: " + n + " bytes announced");
    }
    return new Answer(status, body, n);
  }
}
