package dev.ephemera.auth;

import java.net.URI;
import java.time.Duration;

/**
 * Signed download links of sets: {@code <public url>/v1/sets/<id>/archive.tar.zst?expires=..&sig=..}. The body is a
 * plain {@code .tar.zst} anyone with the link can fetch until it expires, without a token.
 */
public final class DownloadLinks {
  private final URI publicUrl;
  private final Signer signer;
  private final Duration ttl;

  public DownloadLinks(URI publicUrl, Signer signer, Duration ttl) {
    String text = publicUrl.toString();
    this.publicUrl = URI.create(text.endsWith("/") ? text.substring(0, text.length() - 1) : text);
    this.signer = signer;
    this.ttl = ttl;
  }

  public String archive(String setId) {
    return publicUrl + "/v1/sets/" + setId + "/archive.tar.zst?" + signer.signLink(setId, ttl);
  }

  public boolean verify(String setId, String expires, String sig) {
    return signer.verifyLink(setId, expires, sig);
  }
}
