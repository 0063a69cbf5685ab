package dev.ephemera.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class EnvironmentDefaultsTest {
  private static final Map<String, String> JOB_ENV =
      Map.of("BUILDOMAT_JOB_ID", "01JOBA", "EPHEMERA_TOKEN", "ejt1.x", "EPHEMERA_URL", "http://e:8080");

  private static CommandLine.Model.OptionSpec option(String... path) {
    CommandLine cli = Main.commandLine(path[0]);
    for (int i = 0; i < path.length - 1; i++) {
      cli = cli.getSubcommands().get(path[i]);
    }
    return cli.getCommandSpec().findOption(path[path.length - 1]);
  }

  @Test
  void jobSideCommandsTakeTheJobsIdentityFromItsEnvironment() {
    var defaults = new EnvironmentDefaults(JOB_ENV);
    assertThat(defaults.defaultValue(option("persist", "--job"))).isEqualTo("01JOBA");
    assertThat(defaults.defaultValue(option("restore", "--token"))).isEqualTo("ejt1.x");
    assertThat(defaults.defaultValue(option("restore", "--url"))).isEqualTo("http://e:8080");
  }

  @Test
  void emittingANewJobFromInsideAJobDoesNotReuseTheCurrentJobsId() {
    var defaults = new EnvironmentDefaults(JOB_ENV);
    assertThat(defaults.defaultValue(option("admin", "emit", "--job"))).isNull();
  }
}
