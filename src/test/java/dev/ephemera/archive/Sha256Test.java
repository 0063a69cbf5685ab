package dev.ephemera.archive;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.MessageDigest;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Sha256Test {

  @Test
  void theDigestsAreNativeOnLinuxX8664() {
    boolean linuxX8664 =
        System.getProperty("os.name").startsWith("Linux")
            && (System.getProperty("os.arch").equals("amd64") || System.getProperty("os.arch").equals("x86_64"));
    // the provider jar in the product is the linux-x86_64 one; elsewhere the JDK's digests are used
    assertThat(Sha256.isNative()).isEqualTo(linuxX8664);
    String provider = Sha256.newDigest().getProvider().getName();
    if (linuxX8664) {
      assertThat(provider).isEqualTo("AmazonCorrettoCryptoProvider");
    } else {
      assertThat(provider).isEqualTo("SUN");
    }
  }

  @Test
  void nativeAndJdkDigestsAgreeOnEverySizeAndSplit() {
    Random random = new Random(7);
    for (int size : new int[] {0, 1, 55, 56, 63, 64, 65, 127, 4096, 100_000, 1 << 20}) {
      byte[] data = new byte[size];
      random.nextBytes(data);
      MessageDigest ours = Sha256.newDigest();
      MessageDigest jdk = Sha256.jdkDigest();
      // fed in uneven pieces, as the tar writer and the chunker do
      int at = 0;
      while (at < size) {
        int n = Math.min(size - at, 1 + random.nextInt(70_000));
        ours.update(data, at, n);
        at += n;
      }
      jdk.update(data, 0, size);
      assertThat(Sha256.hex(ours.digest())).as("size %d", size).isEqualTo(Sha256.hex(jdk.digest()));
    }
    assertThat(Sha256.of(new byte[0]))
        .isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }

  @org.junit.jupiter.api.Test
  void onlySixtyFourLowerCaseHexDigitsAreAHash() {
    String hash = Sha256.of(new byte[0]);
    org.assertj.core.api.Assertions.assertThat(Sha256.isHex(hash)).isTrue();
    org.assertj.core.api.Assertions.assertThat(Sha256.isHex("0123456789abcdef".repeat(4))).isTrue();
    for (String bad : new String[] {null, "", hash.substring(1), hash + "0", hash.toUpperCase(java.util.Locale.ROOT),
        hash.substring(1) + "g", hash.substring(1) + "/", hash.substring(1) + ":", hash.substring(1) + "`",
        hash.substring(1) + "@", hash.substring(1) + "é"}) {
      org.assertj.core.api.Assertions.assertThat(Sha256.isHex(bad)).as(String.valueOf(bad)).isFalse();
    }
  }
}
