package dev.ephemera.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class SignerTest {
  private static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8);
  private static final Instant NOW = Instant.parse("2026-11-25T12:00:00Z");
  private final Signer signer = new Signer(KEY, Clock.fixed(NOW, ZoneOffset.UTC));

  @Test
  void aMintedTokenNamesItsJobUntilItExpires() {
    var token = signer.mintJobToken("01JOBAAAAAAAAAAAAAAAAAAAAA", Duration.ofHours(1));
    assertThat(signer.verifyJobToken(token.token())).contains("01JOBAAAAAAAAAAAAAAAAAAAAA");
    var later = new Signer(KEY, Clock.fixed(NOW.plus(Duration.ofHours(2)), ZoneOffset.UTC));
    assertThat(later.verifyJobToken(token.token())).isEmpty();
  }

  @Test
  void aTokenWhoseJobWasEditedIsRefused() {
    String token = signer.mintJobToken("01JOBAAAAAAAAAAAAAAAAAAAAA", Duration.ofHours(1)).token();
    String forged = token.replace("01JOBAAAAAAAAAAAAAAAAAAAAA", "01JOBBBBBBBBBBBBBBBBBBBBBB");
    assertThat(signer.verifyJobToken(forged)).isEmpty();
    assertThat(signer.verifyJobToken("garbage")).isEmpty();
    assertThat(signer.verifyJobToken(null)).isEmpty();
  }

  @Test
  void aTokenFromAnotherKeyIsRefused() {
    var other = new Signer("another-key-another-key-another-key!".getBytes(StandardCharsets.UTF_8), Clock.systemUTC());
    String token = other.mintJobToken("01JOB", Duration.ofHours(1)).token();
    assertThat(signer.verifyJobToken(token)).isEmpty();
  }

  @Test
  void aLinkIsValidForItsSetOnlyAndUntilItExpires() {
    String query = signer.signLink("SET1", Duration.ofDays(30));
    String expires = query.substring("expires=".length(), query.indexOf('&'));
    String sig = query.substring(query.indexOf("sig=") + 4);
    assertThat(signer.verifyLink("SET1", expires, sig)).isTrue();
    assertThat(signer.verifyLink("SET2", expires, sig)).isFalse();
    assertThat(signer.verifyLink("SET1", String.valueOf(Long.parseLong(expires) + 1), sig)).isFalse();
    var later = new Signer(KEY, Clock.fixed(NOW.plus(Duration.ofDays(31)), ZoneOffset.UTC));
    assertThat(later.verifyLink("SET1", expires, sig)).isFalse();
  }

  @Test
  void aLinkSignatureNeverPassesAsAJobToken() {
    String query = signer.signLink("01JOB", Duration.ofDays(1));
    String expires = query.substring("expires=".length(), query.indexOf('&'));
    String sig = query.substring(query.indexOf("sig=") + 4);
    assertThat(signer.verifyJobToken("ejt1.01JOB." + expires + "." + sig)).isEmpty();
  }

  @Test
  void duringARotationWhatThePreviousKeySignedStillVerifiesButNothingNewIsSignedWithIt() {
    byte[] next = "the-next-signing-key-0123456789abcdef".getBytes(StandardCharsets.UTF_8);
    String oldToken = signer.mintJobToken("01JOB", Duration.ofHours(1)).token();
    String oldLink = signer.signLink("SET1", Duration.ofDays(1));
    var rotating = new Signer(next, KEY, Clock.fixed(NOW, ZoneOffset.UTC));
    assertThat(rotating.verifyJobToken(oldToken)).contains("01JOB");
    String expires = oldLink.substring("expires=".length(), oldLink.indexOf('&'));
    assertThat(rotating.verifyLink("SET1", expires, oldLink.substring(oldLink.indexOf("sig=") + 4))).isTrue();
    String newToken = rotating.mintJobToken("01JOB", Duration.ofHours(1)).token();
    assertThat(signer.verifyJobToken(newToken)).as("minted with the new key").isEmpty();
    var rotated = new Signer(next, Clock.fixed(NOW, ZoneOffset.UTC));
    assertThat(rotated.verifyJobToken(oldToken)).as("once the previous key is dropped").isEmpty();
    assertThat(rotated.verifyJobToken(newToken)).contains("01JOB");
  }
}
