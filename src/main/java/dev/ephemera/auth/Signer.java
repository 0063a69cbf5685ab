package dev.ephemera.auth;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Stateless credentials signed with the worker's HMAC key, so any replica can check them without a lookup:
 *
 * <ul>
 *   <li>job tokens {@code ejt1.<job id>.<expiry>.<mac>}: let one job read what its policy allows and write its own
 *       pending sets; handed to the job by buildomat the way it hands over {@code GITHUB_TOKEN}.
 *   <li>download links: {@code ?expires=<epoch s>&sig=<mac>} over one set id, so a link in a check run fetches that
 *       set's archive and nothing else, until it expires.
 * </ul>
 *
 * Each kind is MACed under its own domain prefix, so a link signature can never pass as a token or the reverse.
 * Rotating {@code auth.signing-key} revokes every outstanding token and link.
 */
public final class Signer {
  private static final String TOKEN_PREFIX = "ejt1";
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

  private final byte[] key;
  private final byte[] previous;
  private final Clock clock;

  public Signer(byte[] key, Clock clock) {
    this(key, null, clock);
  }

  /**
   * A signer minting with {@code key} and also accepting what {@code previous} (nullable) signed: during a key
   * rotation, tokens and links handed out before it keep working until the previous key is dropped.
   */
  public Signer(byte[] key, byte[] previous, Clock clock) {
    if (key.length < 32 || (previous != null && previous.length < 32)) {
      throw new IllegalArgumentException("signing keys must be at least 32 bytes");
    }
    this.key = key.clone();
    this.previous = previous == null ? null : previous.clone();
    this.clock = clock;
  }

  /** A bearer token for {@code jobId}, valid for {@code ttl}. */
  public JobToken mintJobToken(String jobId, Duration ttl) {
    if (!jobId.matches("[0-9A-Za-z]{1,64}")) {
      throw new IllegalArgumentException("job id must be alphanumeric, got '" + jobId + "'");
    }
    long expires = clock.instant().plus(ttl).getEpochSecond();
    String body = TOKEN_PREFIX + "." + jobId + "." + expires;
    return new JobToken(body + "." + mac("token|" + body), jobId, Instant.ofEpochSecond(expires));
  }

  /** The job a valid, unexpired token names; empty for anything else. */
  public Optional<String> verifyJobToken(String token) {
    if (token == null) {
      return Optional.empty();
    }
    String[] parts = token.split("\\.", -1);
    if (parts.length != 4 || !parts[0].equals(TOKEN_PREFIX)) {
      return Optional.empty();
    }
    String body = parts[0] + "." + parts[1] + "." + parts[2];
    if (!signed("token|" + body, parts[3])) {
      return Optional.empty();
    }
    try {
      if (Long.parseLong(parts[2]) < clock.instant().getEpochSecond()) {
        return Optional.empty();
      }
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
    return Optional.of(parts[1]);
  }

  /** The query string ({@code expires=..&sig=..}) of a download link for {@code setId}. */
  public String signLink(String setId, Duration ttl) {
    long expires = clock.instant().plus(ttl).getEpochSecond();
    return "expires=" + expires + "&sig=" + mac("link|" + setId + "|" + expires);
  }

  public boolean verifyLink(String setId, String expires, String sig) {
    if (expires == null || sig == null) {
      return false;
    }
    try {
      if (Long.parseLong(expires) < clock.instant().getEpochSecond()) {
        return false;
      }
    } catch (NumberFormatException e) {
      return false;
    }
    return signed("link|" + setId + "|" + expires, sig);
  }

  /** Whether {@code sig} is the MAC of {@code message} under the current key or the previous one. */
  private boolean signed(String message, String sig) {
    return constantTimeEquals(mac(key, message), sig) || (previous != null && constantTimeEquals(mac(previous, message), sig));
  }

  private String mac(String message) {
    return mac(key, message);
  }

  private static String mac(byte[] key, String message) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return B64.encodeToString(mac.doFinal(message.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  public static boolean constantTimeEquals(String a, String b) {
    return MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }

  /** A minted job token. */
  public record JobToken(String token, String jobId, Instant expiresAt) {}
}
