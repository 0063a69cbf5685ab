package dev.ephemera.archive;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** SHA-256 helpers: every hash in the archive format is lower-case hex SHA-256. */
final class Sha256 {
  private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

  private Sha256() {}

  static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  static String hex(byte[] digest) {
    return HexFormat.of().formatHex(digest);
  }

  static String of(byte[] data, int off, int len) {
    var md = newDigest();
    md.update(data, off, len);
    return hex(md.digest());
  }

  static String of(byte[] data) {
    return of(data, 0, data.length);
  }

  static boolean isHex(String s) {
    return s != null && HEX.matcher(s).matches();
  }

  static String requireHex(String s, String what) {
    if (!isHex(s)) {
      throw new IllegalArgumentException(what + " must be 64 lower-case hex digits: " + s);
    }
    return s;
  }
}
