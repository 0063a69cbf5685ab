package dev.ephemera.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ephemera.archive.FileChange;
import dev.ephemera.rules.FileSelector;
import dev.ephemera.rules.OutputRule;
import dev.ephemera.rules.Selection;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The persist command's handling of files that change while read: per output rule, without a server. */
class PersistCommandTest {
  @TempDir Path tmp;

  private record Cli(int exit, String out, String err) {}

  private static Cli run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Cli(exit, out.toString(), err.toString());
  }

  /** Nothing listens on port 1: anything that gets as far as uploading fails to reach the server. */
  private static String[] persist(String... rules) {
    List<String> args = new java.util.ArrayList<>(List.of("persist", "proc", "--timeout", "1s", "--url",
        "http://127.0.0.1:1", "--token", "t", "--job", "01J00000000000000000000000", "--rules"));
    args.addAll(List.of(rules));
    return args.toArray(String[]::new);
  }

  @Test
  void aFileThatChangesWhileReadFailsThePersistWhenItsRuleHasNoPercent() {
    // /proc files announce size 0 and have content: they always "grow while being read".
    Cli cli = run(persist("/proc/self/status"));

    assertThat(cli.exit()).isEqualTo(3);
    assertThat(cli.err()).contains("status: changed while being read").contains("a rule with % keeps what was read");
  }

  @Test
  void aFileThatChangesWhileReadIsToleratedWhenItsRuleHasPercent() {
    Cli cli = run(persist("%/proc/self/status"));

    // It gets past reading the files and fails only at the (absent) server, leniently.
    assertThat(cli.err()).doesNotContain("changed while being read (").contains("cannot reach Ephemera");
    assertThat(cli.exit()).isZero();
  }

  @Test
  void thePolicyFollowsEachFilesOwnRule() throws Exception {
    Files.createDirectories(tmp.resolve("w/src"));
    Files.createDirectories(tmp.resolve("w/logs"));
    Files.writeString(tmp.resolve("w/src/main.rs"), "fn main() {}");
    Files.writeString(tmp.resolve("w/logs/build.log"), "ok");
    Selection selection =
        FileSelector.underRoot(tmp).select(List.of(OutputRule.parse("/w/src/*"), OutputRule.parse("%/w/logs/*")));

    var options = PersistCommand.writerOptions(selection, List.of("empty"));
    FileChange.Policy policy = options.tar().changePolicy();

    assertThat(policy.tolerate(new FileChange("logs/build.log", FileChange.Kind.CHANGED, "modified"))).isTrue();
    assertThat(policy.tolerate(new FileChange("logs", FileChange.Kind.VANISHED, "no longer exists"))).isTrue();
    assertThat(policy.tolerate(new FileChange("src/main.rs", FileChange.Kind.CHANGED, "modified"))).isFalse();
    assertThat(policy.tolerate(new FileChange("empty", FileChange.Kind.VANISHED, "no longer exists"))).isFalse();
    assertThat(options.streamDigests()).as("the worker computes tar_sha256 and archive_sha256").isFalse();
    assertThat(options.tar().fileDigests()).as("the worker lists the stream and hashes every file").isFalse();
  }
}
