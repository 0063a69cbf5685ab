package dev.ephemera.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SecretsFilterTest {

  static Stream<Arguments> paths() {
    // path, the deny-list entry it matches (null: allowed)
    return Stream.of(
        Arguments.of("/home/build/.netrc", ".netrc"),
        Arguments.of("/root/.netrc", ".netrc"),
        Arguments.of(".netrc", ".netrc"),
        Arguments.of("/home/build/.git-credentials", ".git-credentials"),
        Arguments.of("/home/build/.pgpass", ".pgpass"),
        Arguments.of("/home/build/.docker/config.json", ".docker/config.json"),
        Arguments.of("/home/build/.cargo/credentials", ".cargo/credentials"),
        Arguments.of("/home/build/.cargo/credentials.toml", ".cargo/credentials.toml"),
        Arguments.of("/home/build/.aws/credentials", ".aws/credentials"),
        Arguments.of("/home/build/.ssh/id_rsa", ".ssh/id_* (SSH private key)"),
        Arguments.of("/home/build/.ssh/id_ed25519", ".ssh/id_* (SSH private key)"),
        Arguments.of("/home/build/.ssh/id_ecdsa_sk", ".ssh/id_* (SSH private key)"),
        // look-alikes that are not secrets
        Arguments.of("/home/build/.ssh/id_rsa.pub", null),
        Arguments.of("/home/build/.ssh/known_hosts", null),
        Arguments.of("/home/build/.ssh/config", null),
        Arguments.of("/home/build/ssh/id_rsa", null),
        Arguments.of("/home/build/.netrc.bak", null),
        Arguments.of("/home/build/netrc", null),
        Arguments.of("/home/build/.cargo/config.toml", null),
        Arguments.of("/home/build/.cargo/registry/credentials", null),
        Arguments.of("/home/build/config.json", null),
        Arguments.of("/home/build/.docker/other.json", null),
        Arguments.of("/home/build/.aws/config", null),
        Arguments.of("/home/build/.NETRC", null),
        Arguments.of("/", null));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("paths")
  void defaultListDeniesKnownCredentialFilesOnly(String path, String secret) {
    assertThat(SecretsFilter.DEFAULT.match(Path.of(path)).orElse(null)).isEqualTo(secret);
  }

  @Test
  void noneAllowsEverything() {
    assertThat(SecretsFilter.NONE.match(Path.of("/home/build/.netrc"))).isEmpty();
    assertThat(SecretsFilter.forSet(true)).isEqualTo(SecretsFilter.NONE);
    assertThat(SecretsFilter.forSet(false)).isEqualTo(SecretsFilter.DEFAULT);
  }

  @Test
  void customRulesCanBeAdded() {
    SecretsFilter filter =
        new SecretsFilter(
            List.of(
                SecretsFilter.Rule.named(".npmrc"),
                SecretsFilter.Rule.inDirectory(".kube", "config")));

    assertThat(filter.match(Path.of("/home/build/.npmrc"))).hasValue(".npmrc");
    assertThat(filter.match(Path.of("/home/build/.kube/config"))).hasValue(".kube/config");
    assertThat(filter.match(Path.of("/home/build/.netrc"))).isEmpty();
  }

  @Test
  void ruleNeedsAName() {
    assertThatThrownBy(() -> new SecretsFilter.Rule("x", null, "", false, null))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
