package dev.ephemera.jobfile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ephemera.rules.OutputRule;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class JobFileTest {

  private static final String FILE = ".github/buildomat/jobs/build.sh";
  private static final String PREFIX = "TOML front matter in \"" + FILE + "\": ";

  /** A job file whose front matter is the given lines, each prefixed with "#: ". */
  private static String job(String... frontMatter) {
    return "#!/bin/bash\n"
        + Arrays.stream(frontMatter).map(l -> "#: " + l + "\n").collect(Collectors.joining())
        + "\nset -o errexit\ncargo build\n";
  }

  private static String[] with(String... extra) {
    return Stream.concat(Stream.of("name = \"build\"", "variety = \"basic\""), Arrays.stream(extra))
        .toArray(String[]::new);
  }

  @Test
  void parsesAMinimalJobFileWithDefaults() {
    JobFile jf = JobFile.parse(FILE, job(with()));

    assertThat(jf.name()).isEqualTo("build");
    assertThat(jf.variety()).isEqualTo("basic");
    assertThat(jf.enable()).isTrue();
    assertThat(jf.dependencies()).isEmpty();
    assertThat(jf.outputRules()).isEmpty();
    assertThat(jf.rustToolchain()).isEmpty();
    assertThat(jf.target()).isEqualTo("default");
    assertThat(jf.accessRepos()).isEmpty();
    assertThat(jf.publish()).isEmpty();
    assertThat(jf.skipClone()).isFalse();
    assertThat(jf.persist()).isEmpty();
  }

  @Test
  void parsesEveryKeyIncludingDeclaredSets() {
    String text =
        job(
            "name = \"test (helios)\"",
            "variety = \"basic\"",
            "target = \"helios-2.0\"",
            "rust_toolchain = \"1.80.0\"",
            "output_rules = [",
            "  \"%/work/*.log\",",
            "  \"=/work/out/*.tgz\",",
            "  \"!/work/out/*.tmp\",",
            "]",
            "access_repos = [\"oxidecomputer/dendrite\"]",
            "skip_clone = false",
            "",
            "[[publish]]",
            "from_output = \"/work/out/a.tgz\"",
            "series = \"image\"",
            "name = \"a.tgz\"",
            "",
            "[dependencies.build]",
            "job = \"build (helios)\"",
            "copy_outputs = true",
            "",
            "[[persist]]",
            "name = \"cargo-registry\"",
            "rules = [\"/home/build/.cargo/registry/**/*\", \"!/home/build/.cargo/registry/src/*\"]",
            "",
            "[[persist]]",
            "name = \"target.v1\"",
            "rules = [\"=/work/oxidecomputer/omicron/target/**/*\"]",
            "when = \"always\"",
            "allow_secrets = true");

    JobFile jf = JobFile.parse(FILE, text);

    assertThat(jf.name()).isEqualTo("test (helios)");
    assertThat(jf.target()).isEqualTo("helios-2.0");
    assertThat(jf.rustToolchain()).contains(new RustToolchain.Channel("1.80.0"));
    assertThat(jf.outputRules())
        .containsExactly(
            new OutputRule("/work/*.log", false, false, true),
            new OutputRule("/work/out/*.tgz", false, true, false),
            new OutputRule("/work/out/*.tmp", true, false, false));
    assertThat(jf.accessRepos()).containsExactly("oxidecomputer/dendrite");
    assertThat(jf.skipClone()).isFalse();
    assertThat(jf.publish()).containsExactly(new Publish("/work/out/a.tgz", "image", "a.tgz"));
    assertThat(jf.dependencies())
        .containsExactly(
            Map.entry("build", new Dependency("build (helios)", Map.of("copy_outputs", true))));
    assertThat(jf.persist())
        .containsExactly(
            new PersistSpec(
                "cargo-registry",
                List.of(
                    OutputRule.parse("/home/build/.cargo/registry/**/*"),
                    OutputRule.parse("!/home/build/.cargo/registry/src/*")),
                PersistSpec.When.SUCCESS,
                false),
            new PersistSpec(
                "target.v1",
                List.of(OutputRule.parse("=/work/oxidecomputer/omicron/target/**/*")),
                PersistSpec.When.ALWAYS,
                true));
  }

  @Test
  void rustToolchainTrueMeansTheRepositoryFileAndFalseMeansNone() {
    assertThat(JobFile.parse(FILE, job(with("rust_toolchain = true"))).rustToolchain())
        .contains(new RustToolchain.FromRepository());
    assertThat(JobFile.parse(FILE, job(with("rust_toolchain = false"))).rustToolchain()).isEmpty();
  }

  @Test
  void persistAcceptsAnInlineArrayOfTables() {
    JobFile jf =
        JobFile.parse(FILE, job(with("persist = [{ name = \"m2\", rules = [\"/home/build/.m2/**/*\"] }]")));

    assertThat(jf.persist()).extracting(PersistSpec::name).containsExactly("m2");
  }

  @Test
  void plainCommentsMayBeMixedIntoTheBlockAndTheBlockEndsAtTheFirstOtherLine() {
    String text =
        "#!/bin/bash\n"
            + "#\n"
            + "#: name = \"build\"\n"
            + "# a comment that is not TOML = at all [\n"
            + "#: variety = \"basic\"\n"
            + "#:#: target = \"lab\"\n"
            + "\n"
            + "#: output_rules = [\"not even parsed\"]\n"
            + "exit 0\n";

    JobFile jf = JobFile.parse(FILE, text);

    assertThat(jf.target()).isEqualTo("lab");
    assertThat(jf.outputRules()).isEmpty();
  }

  @Test
  void acceptsWindowsLineEndings() {
    JobFile jf =
        JobFile.parse(
            FILE, "#!/bin/bash\r\n#: name = \"build\"\r\n#: variety = \"basic\"\r\necho\r\n");

    assertThat(jf.name()).isEqualTo("build");
  }

  @Test
  void disabledJobFileIsReturnedWithoutCheckingItsVarietyKeys() {
    // buildomat stops at enable = false, before the misspelling check and the variety's keys
    JobFile jf =
        JobFile.parse(
            FILE, job(with("enable = false", "disabled = true", "nonsense = 1", "persist = 3")));

    assertThat(jf.enable()).isFalse();
    assertThat(jf.name()).isEqualTo("build");
    assertThat(jf.persist()).isEmpty();
  }

  @Test
  void globalKeysAreStillCheckedInADisabledJobFile() {
    assertThatThrownBy(() -> JobFile.parse(FILE, job("name = \"x\"", "enable = false")))
        .hasMessage(PREFIX + "missing field `variety`");
  }

  static Stream<Arguments> malformed() {
    String fields =
        "expected one of `output_rules`, `rust_toolchain`, `target`, `access_repos`, `publish`,"
            + " `skip_clone`, `persist`";
    String persistFields = "expected one of `name`, `rules`, `when`, `allow_secrets`";
    String longName = "n".repeat(65);
    return Stream.of(
        Arguments.of(
            "no interpreter line",
            "#: name = \"x\"\n#: variety = \"basic\"\n",
            "\"" + FILE + "\" must have an interpreter line"),
        Arguments.of("empty file", "", PREFIX + "missing field `name`"),
        Arguments.of("only an interpreter line", "#!/bin/bash\n", PREFIX + "missing field `name`"),
        Arguments.of(
            "blank line inside the block",
            "#!/bin/bash\n#: name = \"x\"\n\n#: variety = \"basic\"\n",
            PREFIX + "missing field `variety`"),
        Arguments.of("missing variety", job("name = \"x\""), PREFIX + "missing field `variety`"),
        Arguments.of(
            "unknown variety",
            job("name = \"x\"", "variety = \"fancy\""),
            PREFIX + "unknown variant `fancy`, expected `basic`"),
        Arguments.of(
            "name of the wrong type",
            job("name = 1", "variety = \"basic\""),
            PREFIX + "invalid type: integer `1`, expected a string for key `name`"),
        Arguments.of(
            "enabled instead of enable",
            job(with("enabled = true")),
            PREFIX + "use \"enable\" to disable a job"),
        Arguments.of(
            "disable instead of enable",
            job(with("disable = true")),
            PREFIX + "use \"enable\" to disable a job"),
        Arguments.of(
            "disabled instead of enable",
            job(with("disabled = false")),
            PREFIX + "use \"enable\" to disable a job"),
        Arguments.of(
            "enable of the wrong type",
            job(with("enable = \"yes\"")),
            PREFIX + "invalid type: string \"yes\", expected a boolean for key `enable`"),
        Arguments.of(
            "unknown key",
            job(with("persists = []")),
            PREFIX + "unknown field `persists`, " + fields),
        Arguments.of(
            "access_repo in the singular",
            job(with("access_repo = [\"a/b\"]")),
            PREFIX + "unknown field `access_repo`, " + fields),
        Arguments.of(
            "output_rules not a list",
            job(with("output_rules = \"/a\"")),
            PREFIX + "invalid type: string \"/a\", expected a sequence for key `output_rules`"),
        Arguments.of(
            "relative output rule",
            job(with("output_rules = [\"tmp/x\"]")),
            PREFIX
                + "output_rules: invalid output rule \"tmp/x\": wanted sigil/absolute path, not 't'"),
        Arguments.of(
            "output rule with a bad glob",
            job(with("output_rules = [\"/a/**b\"]")),
            PREFIX
                + "output_rules: invalid output rule \"/a/**b\": Pattern syntax error near"
                + " position 5: recursive wildcards must form a single path component"),
        Arguments.of(
            "rust_toolchain of the wrong type",
            job(with("rust_toolchain = 1")),
            PREFIX
                + "data did not match any variant of untagged enum StringOrBool for key"
                + " `rust_toolchain`"),
        Arguments.of(
            "skip_clone of the wrong type",
            job(with("skip_clone = 1")),
            PREFIX + "invalid type: integer `1`, expected a boolean for key `skip_clone`"),
        Arguments.of(
            "publish without series",
            job(with("[[publish]]", "from_output = \"/a\"", "name = \"a\"")),
            PREFIX + "missing field `series`"),
        Arguments.of(
            "publish with an unknown key",
            job(with("[[publish]]", "from_output = \"/a\"", "series = \"s\"", "name = \"a\"", "x = 1")),
            PREFIX + "unknown field `x`, expected one of `from_output`, `series`, `name`"),
        Arguments.of(
            "dependency without job",
            job(with("[dependencies.build]", "copy_outputs = true")),
            PREFIX + "missing field `job`"),
        Arguments.of(
            "persist not a list of tables",
            job(with("persist = \"cargo\"")),
            PREFIX + "invalid type: string \"cargo\", expected a sequence for key `persist`"),
        Arguments.of(
            "persist without name",
            job(with("[[persist]]", "rules = [\"/a/**/*\"]")),
            PREFIX + "missing field `name`"),
        Arguments.of(
            "persist name with a space",
            job(with("[[persist]]", "name = \"cargo registry\"", "rules = [\"/a/**/*\"]")),
            PREFIX + "persist name \"cargo registry\" must be 1 to 64 characters of [A-Za-z0-9._-]"),
        Arguments.of(
            "persist name with a slash",
            job(with("[[persist]]", "name = \"a/b\"", "rules = [\"/a/**/*\"]")),
            PREFIX + "persist name \"a/b\" must be 1 to 64 characters of [A-Za-z0-9._-]"),
        Arguments.of(
            "persist name too long",
            job(with("[[persist]]", "name = \"" + longName + "\"", "rules = [\"/a/**/*\"]")),
            PREFIX + "persist name \"" + longName + "\" must be 1 to 64 characters of [A-Za-z0-9._-]"),
        Arguments.of(
            "persist name empty",
            job(with("[[persist]]", "name = \"\"", "rules = [\"/a/**/*\"]")),
            PREFIX + "persist name \"\" must be 1 to 64 characters of [A-Za-z0-9._-]"),
        Arguments.of(
            "persist without rules",
            job(with("[[persist]]", "name = \"cargo\"")),
            PREFIX + "missing field `rules`"),
        Arguments.of(
            "persist with no rules",
            job(with("[[persist]]", "name = \"cargo\"", "rules = []")),
            PREFIX + "persist set \"cargo\" has no rules"),
        Arguments.of(
            "persist with only excludes",
            job(with("[[persist]]", "name = \"cargo\"", "rules = [\"!/a/*\"]")),
            PREFIX + "persist set \"cargo\" has only exclude (!) rules, so it selects nothing"),
        Arguments.of(
            "persist with an invalid rule",
            job(with("[[persist]]", "name = \"cargo\"", "rules = [\"~/.cargo/**/*\"]")),
            PREFIX
                + "persist set \"cargo\": invalid output rule \"~/.cargo/**/*\": wanted"
                + " sigil/absolute path, not '~'"),
        Arguments.of(
            "persist rules of the wrong type",
            job(with("[[persist]]", "name = \"cargo\"", "rules = [1]")),
            PREFIX + "invalid type: integer `1`, expected a string for key `rules`"),
        Arguments.of(
            "persist with an unknown when",
            job(with("[[persist]]", "name = \"c\"", "rules = [\"/a/*\"]", "when = \"sometimes\"")),
            PREFIX + "unknown variant `sometimes`, expected `success` or `always`"),
        Arguments.of(
            "persist with an unknown key",
            job(with("[[persist]]", "name = \"c\"", "rules = [\"/a/*\"]", "path = \"/a\"")),
            PREFIX + "unknown field `path`, " + persistFields),
        Arguments.of(
            "persist allow_secrets of the wrong type",
            job(with("[[persist]]", "name = \"c\"", "rules = [\"/a/*\"]", "allow_secrets = \"yes\"")),
            PREFIX + "invalid type: string \"yes\", expected a boolean for key `allow_secrets`"),
        Arguments.of(
            "two persist sets with one name",
            job(
                with(
                    "[[persist]]",
                    "name = \"c\"",
                    "rules = [\"/a/*\"]",
                    "[[persist]]",
                    "name = \"c\"",
                    "rules = [\"/b/*\"]")),
            PREFIX + "persist set name \"c\" is used more than once"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("malformed")
  void rejectsMalformedJobFilesWithBuildomatsMessage(String what, String text, String message) {
    assertThatThrownBy(() -> JobFile.parse(FILE, text))
        .isInstanceOf(JobFileException.class)
        .hasMessage(message);
  }

  @Test
  void reportsTomlSyntaxErrorsWithTheirPosition() {
    assertThatThrownBy(() -> JobFile.parse(FILE, job(with("output_rules = [\"/a\""))))
        .isInstanceOf(JobFileException.class)
        .hasMessageStartingWith(PREFIX)
        .hasMessageContaining("line 3");
  }

  @Test
  void persistSpecRefusesInvalidValuesDirectly() {
    List<OutputRule> rules = List.of(OutputRule.parse("/a/*"));

    assertThatThrownBy(() -> new PersistSpec("..", rules, PersistSpec.When.SUCCESS, false))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new PersistSpec("ok", List.of(), PersistSpec.When.SUCCESS, false))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new PersistSpec("ok", rules, null, false))
        .isInstanceOf(NullPointerException.class);
    assertThat(new PersistSpec("a.B_c-9", rules, PersistSpec.When.ALWAYS, false).when().tomlName())
        .isEqualTo("always");
  }
}
