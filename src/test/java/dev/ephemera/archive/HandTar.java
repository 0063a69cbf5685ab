package dev.ephemera.archive;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds tar bytes by hand, independently of the code under test, so tests can craft exactly the
 * hostile or odd archive they need.
 */
public final class HandTar {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  public HandTar file(String name, String content) {
    return entry(name, '0', 0644, content.getBytes(StandardCharsets.UTF_8), "");
  }

  public HandTar file(String name, byte[] content, int mode) {
    return entry(name, '0', mode, content, "");
  }

  public HandTar dir(String name) {
    return entry(name.endsWith("/") ? name : name + "/", '5', 0755, new byte[0], "");
  }

  public HandTar symlink(String name, String target) {
    return entry(name, '2', 0777, new byte[0], target);
  }

  public HandTar hardlink(String name, String target) {
    return entry(name, '1', 0644, new byte[0], target);
  }

  public HandTar special(String name, char type) {
    return entry(name, type, 0644, new byte[0], "");
  }

  /** A pax extended header ('x', or 'g' for global) applying to what follows. */
  public HandTar pax(char type, Map<String, String> records) {
    var body = new ByteArrayOutputStream();
    for (var e : records.entrySet()) {
      byte[] kv = (" " + e.getKey() + "=" + e.getValue() + "\n").getBytes(StandardCharsets.UTF_8);
      int len = kv.length + 1;
      while (Integer.toString(len).length() + kv.length != len) {
        len = Integer.toString(len).length() + kv.length;
      }
      body.writeBytes(Integer.toString(len).getBytes(StandardCharsets.US_ASCII));
      body.writeBytes(kv);
    }
    return entry("PaxHeaders/x", type, 0644, body.toByteArray(), "");
  }

  public HandTar pax(String key, String value) {
    var m = new LinkedHashMap<String, String>();
    m.put(key, value);
    return pax('x', m);
  }

  /** A GNU long-name header ('L') for the next entry. */
  public HandTar gnuLongName(String name) {
    byte[] b = (name + "\0").getBytes(StandardCharsets.UTF_8);
    return entry("././@LongLink", 'L', 0644, b, "");
  }

  public HandTar entry(String name, char type, int mode, byte[] data, String link) {
    byte[] h = header(name, type, mode, data.length, link);
    out.writeBytes(h);
    out.writeBytes(data);
    out.writeBytes(new byte[(512 - data.length % 512) % 512]);
    return this;
  }

  public HandTar raw(byte[] bytes) {
    out.writeBytes(bytes);
    return this;
  }

  /** Two zero blocks. */
  public HandTar end() {
    out.writeBytes(new byte[1024]);
    return this;
  }

  public byte[] bytes() {
    return out.toByteArray();
  }

  static byte[] header(String name, char type, int mode, long size, String link) {
    byte[] h = new byte[512];
    put(h, 0, 100, name);
    put(h, 100, 8, String.format("%07o", mode));
    put(h, 108, 8, "0000000");
    put(h, 116, 8, "0000000");
    put(h, 124, 12, String.format("%011o", size));
    put(h, 136, 12, String.format("%011o", 1_700_000_000L));
    h[156] = (byte) type;
    put(h, 157, 100, link);
    put(h, 257, 6, "ustar");
    h[263] = '0';
    h[264] = '0';
    Arrays.fill(h, 148, 156, (byte) ' ');
    int sum = 0;
    for (byte b : h) {
      sum += b & 0xff;
    }
    put(h, 148, 7, String.format("%06o", sum));
    return h;
  }

  private static void put(byte[] h, int off, int len, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    System.arraycopy(b, 0, h, off, Math.min(b.length, len));
  }
}
