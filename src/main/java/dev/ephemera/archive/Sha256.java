package dev.ephemera.archive;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * SHA-256 helpers: every hash in the archive format is lower-case hex SHA-256.
 *
 * <p>Digests come from the Amazon Corretto Crypto Provider (AWS-LC, native, SHA-NI) when it loads on this machine, else
 * from the JDK. The JDK's SHA-256 is fast only once C2 has compiled its caller (an intrinsic): 1.4 GB/s then, 105 MB/s
 * in C1-compiled code. The native one runs at 1.5 GB/s from the first byte, which lets the short-lived CLI run with C1
 * only ({@code bin/ephemera}) and save the C2 compiler's CPU (2.5-3.9 s per persist on two cores). Both give the same
 * digests (Sha256Test).
 */
public final class Sha256 {
  private static final String NATIVE_PROVIDER = "com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider";
  private static final java.security.Provider PROVIDER = nativeProvider();

  private Sha256() {}

  /**
   * The native provider if it loaded and passed its self-tests, else null (the JDK's digests are used). The system
   * property {@code ephemera.sha256=jdk} turns it off.
   */
  private static java.security.Provider nativeProvider() {
    if ("jdk".equals(System.getProperty("ephemera.sha256"))) {
      return null;
    }
    try {
      Class<?> type = Class.forName(NATIVE_PROVIDER);
      java.security.Provider provider = (java.security.Provider) type.getField("INSTANCE").get(null);
      Object loadingError = type.getMethod("getLoadingError").invoke(provider);
      if (loadingError != null) {
        return slow(loadingError.toString());
      }
      MessageDigest.getInstance("SHA-256", provider); // the algorithm is there and works
      return provider;
    } catch (ReflectiveOperationException | LinkageError | NoSuchAlgorithmException | RuntimeException e) {
      return slow(e.toString());
    }
  }

  /** No native digests: says so where it costs (a CLI that bin/ephemera started with C1 only), then uses the JDK's. */
  private static java.security.Provider slow(String why) {
    if ("c1".equals(System.getProperty("ephemera.jit"))) {
      System.err.println("ephemera: warning: no native SHA-256 on this machine (" + why + "); hashing under C1 only is"
          + " slow: set EPHEMERA_JAVA_OPTS (for example to -XX:+UseParallelGC) to let C2 compile it");
    }
    return null;
  }

  /** Whether digests are native (see the class comment); the CLI warns when it runs C1 only without them. */
  public static boolean isNative() {
    return PROVIDER != null;
  }

  public static MessageDigest newDigest() {
    if (PROVIDER == null) {
      return jdkDigest();
    }
    try {
      return MessageDigest.getInstance("SHA-256", PROVIDER);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the native provider offered SHA-256 when it loaded", e);
    }
  }

  /** The JDK's own SHA-256, whatever {@link #newDigest} uses (for tests comparing the two). */
  static MessageDigest jdkDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  static String hex(byte[] digest) {
    return HexFormat.of().formatHex(digest);
  }

  public static String of(byte[] data, int off, int len) {
    var md = newDigest();
    md.update(data, off, len);
    return hex(md.digest());
  }

  public static String of(byte[] data) {
    return of(data, 0, data.length);
  }

  static boolean isHex(String s) {
    // a loop, not a regular expression: every file entry of a manifest (35,000 in a node_modules) is checked as it is parsed
    if (s == null || s.length() != 64) {
      return false;
    }
    for (int i = 0; i < 64; i++) {
      char c = s.charAt(i);
      if ((c < '0' || c > '9') && (c < 'a' || c > 'f')) {
        return false;
      }
    }
    return true;
  }

  static String requireHex(String s, String what) {
    if (!isHex(s)) {
      throw new IllegalArgumentException(what + " must be 64 lower-case hex digits: " + s);
    }
    return s;
  }
}
