package dev.ephemera.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ephemera.config.EphemeraConfig;
import dev.ephemera.config.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * deploy/ephemera.toml is the documented example of every setting: it names each key the code knows (set, or
 * commented out for secrets) and the worker loads it as it is. (make check-deploy holds compose and Kubernetes to the
 * same list.)
 */
class DeployFilesTest {
  private static final Path EXAMPLE = Path.of("deploy/ephemera.toml");

  @Test
  void theExampleConfigNamesEverySettingAndNothingElse() throws Exception {
    Set<String> named = new LinkedHashSet<>();
    String section = "";
    Matcher header = Pattern.compile("^\\[([a-z0-9-]+)]$").matcher("");
    Matcher key = Pattern.compile("^#?\\s*([a-z0-9-]+)\\s*=").matcher("");
    for (String line : Files.readAllLines(EXAMPLE)) {
      String l = line.trim();
      if (header.reset(l).matches()) {
        section = header.group(1);
      } else if (!section.isEmpty() && key.reset(l).lookingAt()) {
        named.add(section + "." + key.group(1));
      }
    }
    assertThat(named).containsExactlyInAnyOrderElementsOf(EphemeraConfig.DEFAULTS.keySet());
  }

  @Test
  void theWorkerLoadsTheExampleConfigWithSecretsFromTheEnvironment() {
    Map<String, String> env =
        Map.of(
            "EPHEMERA_AUTH_ADMIN_TOKEN", "an-admin-token-of-length",
            "EPHEMERA_AUTH_SIGNING_KEY", "a-signing-key-of-at-least-32-characters");
    Settings settings = Settings.load(EphemeraConfig.DEFAULTS, Optional.of(EXAMPLE), env, Map.of());
    EphemeraConfig config = EphemeraConfig.from(settings);
    assertThat(config.store().kind()).isEqualTo("s3");
    assertThat(config.metrics().topOwners()).isEqualTo(10);
    // secrets never come from the example file
    assertThat(settings.origins().get("auth.signing-key")).doesNotContain("ephemera.toml");
    assertThat(settings.origins().get("db.password")).doesNotContain("ephemera.toml");
  }

  @Test
  void everyAlertHasARunbookSection() throws Exception {
    String runbook = Files.readString(Path.of("docs/operations.md"));
    Matcher alert = Pattern.compile("(?m)^\\s*- alert: (\\w+)$").matcher(Files.readString(Path.of("deploy/prometheus/alerts.yml")));
    int alerts = 0;
    while (alert.find()) {
      alerts++;
      assertThat(runbook).as("docs/operations.md explains %s", alert.group(1)).contains("### " + alert.group(1) + "\n");
    }
    assertThat(alerts).isGreaterThanOrEqualTo(6);
  }
}
