package dev.ephemera.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Selection over real directory trees, rooted in a temporary directory standing for "/". */
class FileSelectorTest {

  @TempDir Path fs;

  private FileSelector selector;

  @BeforeEach
  void setUp() {
    selector = FileSelector.underRoot(fs);
  }

  private Path file(String relative) throws IOException {
    Path path = fs.resolve(relative);
    Files.createDirectories(path.getParent());
    Files.writeString(path, relative, StandardCharsets.UTF_8);
    return path;
  }

  private Path dir(String relative) throws IOException {
    return Files.createDirectories(fs.resolve(relative));
  }

  private Path link(String relative, String target) throws IOException {
    Path path = fs.resolve(relative);
    Files.createDirectories(path.getParent());
    return Files.createSymbolicLink(path, Path.of(target));
  }

  private Selection select(String... rules) {
    return selector.select(Arrays.stream(rules).map(OutputRule::parse).toList());
  }

  private static List<String> relative(Selection selection) {
    return selection.entries().stream().map(Selected::relativePath).toList();
  }

  /** A small tree used by the table of rule expansions below. */
  private void standardTree() throws IOException {
    file("w/a.txt");
    file("w/b.log");
    file("w/.hidden");
    file("w/Upper.TXT");
    file("w/sub/c.txt");
    file("w/sub/.dot/d.txt");
    file("w/sub/deeper/e.jpg");
    file("w/x1");
    file("w/x2");
    file("w/xa");
    file("w/[lit]");
    dir("w/emptydir");
    dir("w/dir.txt");
  }

  static Stream<Arguments> expansions() {
    // rules, files selected (relative to the root), root (relative to the fs root)
    return Stream.of(
        Arguments.of(
            List.of("/w/*"),
            List.of(".hidden", "Upper.TXT", "[lit]", "a.txt", "b.log", "x1", "x2", "xa"),
            "w"),
        Arguments.of(List.of("/w/*.txt"), List.of("a.txt"), "w"),
        Arguments.of(List.of("/w/*.TXT"), List.of("Upper.TXT"), "w"),
        Arguments.of(List.of("/w/?.txt"), List.of("a.txt"), "w"),
        Arguments.of(List.of("/w/x[0-9]"), List.of("x1", "x2"), "w"),
        Arguments.of(List.of("/w/x[!0-9]"), List.of("xa"), "w"),
        Arguments.of(List.of("/w/x[!1]"), List.of("x2", "xa"), "w"),
        Arguments.of(List.of("/w/[[]lit[]]"), List.of("[lit]"), "w"),
        Arguments.of(List.of("/w/.*"), List.of(".hidden"), "w"),
        Arguments.of(
            List.of("/w/**/*.txt"),
            List.of("a.txt", "sub/.dot/d.txt", "sub/c.txt"),
            "w"),
        Arguments.of(
            List.of("/w/**/*"),
            List.of(
                ".hidden",
                "Upper.TXT",
                "[lit]",
                "a.txt",
                "b.log",
                "sub/.dot/d.txt",
                "sub/c.txt",
                "sub/deeper/e.jpg",
                "x1",
                "x2",
                "xa"),
            "w"),
        Arguments.of(
            List.of("/**/*.jpg"), List.of("w/sub/deeper/e.jpg"), ""),
        Arguments.of(List.of("/w/sub/**/d.txt"), List.of(".dot/d.txt"), "w/sub"),
        Arguments.of(List.of("/w/*/*.txt"), List.of("sub/c.txt"), "w"),
        Arguments.of(List.of("/w/*/*/*"), List.of("sub/.dot/d.txt", "sub/deeper/e.jpg"), "w"),
        Arguments.of(List.of("/w/a.txt"), List.of("a.txt"), "w"),
        Arguments.of(List.of("/w/missing.txt"), List.of(), "w"),
        Arguments.of(List.of("/w/sub//c.txt"), List.of("c.txt"), "w/sub"),
        Arguments.of(List.of("/w/./sub/../a.txt"), List.of("a.txt"), "w"),
        // `*` on a component: "*.txt" does not reach into sub/
        Arguments.of(List.of("/w/*.txt", "/w/sub/*"), List.of("a.txt", "sub/c.txt"), "w"),
        // a directory is never selected, even when named like a file
        Arguments.of(List.of("/w/dir.txt"), List.of(), "w"),
        Arguments.of(List.of("/w/emptydir/**/*"), List.of(), "w/emptydir"),
        // whole-path excludes: `*` crosses '/'
        Arguments.of(
            List.of("/w/**/*", "!/w/*.txt", "!/w/x*", "!/w/*.jpg", "!/w/[.[]*"),
            List.of("Upper.TXT", "b.log"),
            "w"),
        Arguments.of(List.of("/w/**/*.txt", "!/w/sub/**"), List.of("a.txt"), "w"),
        Arguments.of(List.of("/w/**/*.txt", "!/w/**/.*/*"), List.of("a.txt", "sub/c.txt"), "w"),
        Arguments.of(List.of("/w/*.txt", "!/w/a.txt"), List.of(), "w"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("expansions")
  void expandsRulesLikeBuildomat(List<String> rules, List<String> expected, String root)
      throws IOException {
    standardTree();

    Selection selection = select(rules.toArray(String[]::new));

    assertThat(relative(selection)).containsExactlyElementsOf(expected);
    assertThat(selection.root()).isEqualTo(root.isEmpty() ? fs : fs.resolve(root));
    assertThat(selection.files()).allSatisfy(f -> assertThat(f.path()).isRegularFile());
    assertThat(selection.errors()).isEmpty();
  }

  @Test
  void selectedFilesCarryTheirFilesystemPathAndTheFirstRuleThatSelectedThem() throws IOException {
    Path a = file("w/a.txt");
    file("w/b.txt");

    Selection selection = select("/w/a.txt", "/w/*.txt", "/w/**/*");

    assertThat(selection.files())
        .extracting(SelectedFile::relativePath, f -> f.rule().toString(), SelectedFile::path)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("a.txt", "/w/a.txt", a),
            org.assertj.core.groups.Tuple.tuple("b.txt", "/w/*.txt", fs.resolve("w/b.txt")));
  }

  @Test
  void countsAFileSelectedByManyRulesOnce() throws IOException {
    file("w/a.txt");

    Selection selection = select("/w/**/*", "/w/*", "/w/a.txt", "/w/*.txt", "/**/a.txt");

    assertThat(relative(selection)).containsExactly("w/a.txt");
  }

  @Test
  void sortsEntriesByRelativePathWhateverTheRuleOrder() throws IOException {
    file("w/z/1");
    file("w/a/2");
    file("w/m");

    Selection selection = select("/w/z/*", "/w/m", "/w/a/*");

    assertThat(relative(selection)).containsExactly("a/2", "m", "z/1");
  }

  @Test
  void rootIsTheLongestCommonDirectoryOfTheIncludeRules() throws IOException {
    file("home/build/.cargo/registry/index/x");
    file("home/build/.m2/repository/y");

    Selection selection =
        select(
            "/home/build/.cargo/registry/**/*",
            "/home/build/.m2/repository/**/*",
            "!/home/**/*.lock");

    assertThat(selection.root()).isEqualTo(fs.resolve("home/build"));
    assertThat(relative(selection))
        .containsExactly(".cargo/registry/index/x", ".m2/repository/y");
  }

  @Test
  void excludeRuleWinsOverEveryIncludeRule() throws IOException {
    file("tmp/a.jpg");
    file("tmp/a/b.jpg");
    file("tmp/a/c.png");

    Selection selection = select("/tmp/**/*", "/tmp/a/b.jpg", "!/tmp/*.jpg");

    assertThat(relative(selection)).containsExactly("a/c.png");
  }

  @Test
  void requiredRuleThatSelectsNothingIsAnErrorNamingTheRule() throws IOException {
    file("w/a.txt");

    Selection selection = select("/w/*.txt", "=/w/*.tgz", "=%/w/*.zip");

    assertThat(selection.ok()).isFalse();
    assertThat(selection.errors())
        .containsExactly(
            "rule \"=/w/*.tgz\" required a match, but selected nothing",
            "rule \"%=/w/*.zip\" required a match, but selected nothing");
    assertThat(relative(selection)).containsExactly("a.txt");
  }

  @Test
  void requiredRuleWhoseOnlyMatchIsExcludedIsAnError() throws IOException {
    file("w/a.txt");

    Selection selection = select("=/w/*.txt", "!/w/a.txt");

    assertThat(selection.errors()).hasSize(1);
  }

  @Test
  void requiredRuleIsSatisfiedByAnySelectedFileItsWholePathPatternMatches() throws IOException {
    // buildomat marks `=` rules used by whole-path matching of uploaded files: "/w/*" matches
    // "/w/sub/c.txt" although, expanded per component, it would select only directories here
    file("w/sub/c.txt");

    Selection selection = select("=/w/*", "/w/**/*");

    assertThat(selection.ok()).isTrue();
    assertThat(relative(selection)).containsExactly("sub/c.txt");
  }

  @Test
  void sizeChangeOkFollowsEveryPercentRuleThatMatchesTheWholePath() throws IOException {
    file("w/log/a.log");
    file("w/log/deep/b.log");
    file("w/bin/tool");

    Selection selection = select("/w/**/*", "%/w/log/*");

    assertThat(selection.files())
        .extracting(SelectedFile::relativePath, SelectedFile::sizeChangeOk)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("bin/tool", false),
            org.assertj.core.groups.Tuple.tuple("log/a.log", true),
            org.assertj.core.groups.Tuple.tuple("log/deep/b.log", true));
  }

  @Test
  void ruleEndingInRecursiveWildcardSelectsNothingAndSaysWhatWasMeant() throws IOException {
    file("w/a/b.txt");

    Selection selection = select("/w/**");

    assertThat(selection.entries()).isEmpty();
    assertThat(selection.warnings())
        .containsExactly("rule /w/** can select nothing; did you mean /w/**/*?");
    assertThat(selection.ok()).isTrue();
  }

  @Test
  void ruleEndingInSlashSelectsNothingAndSaysWhatWasMeant() throws IOException {
    file("w/a/b.txt");

    Selection selection = select("/w/a/");

    assertThat(selection.entries()).isEmpty();
    assertThat(selection.warnings())
        .containsExactly("rule /w/a/ can select nothing; did you mean /w/a/**/*?");
  }

  @Test
  void symlinkToAFileInsideTheRootIsKeptAsASymlink() throws IOException {
    file("w/real.txt");
    Path link = link("w/alias.txt", "real.txt");

    Selection selection = select("/w/**/*");

    assertThat(selection.files()).extracting(Selected::relativePath).containsExactly("real.txt");
    assertThat(selection.symlinks())
        .singleElement()
        .satisfies(
            s -> {
              assertThat(s.relativePath()).isEqualTo("alias.txt");
              assertThat(s.path()).isEqualTo(link);
              assertThat(s.target()).isEqualTo(Path.of("real.txt"));
              assertThat(s.rule().toString()).isEqualTo("/w/**/*");
            });
    assertThat(relative(selection)).containsExactly("alias.txt", "real.txt");
  }

  @Test
  void symlinkToADirectoryInsideTheRootIsKeptAndNotDescended() throws IOException {
    file("w/real/a.txt");
    link("w/alias", fs.resolve("w/real").toString());

    Selection selection = select("/w/**/*");

    assertThat(relative(selection)).containsExactly("alias", "real/a.txt");
    assertThat(selection.symlinks()).extracting(Selected::relativePath).containsExactly("alias");
  }

  @Test
  void filesReachedThroughAKeptSymlinkAreLeftToTheLink() throws IOException {
    file("w/real/a.txt");
    link("w/alias", "real");

    // the second rule reaches w/alias/a.txt through the link that the first rule keeps
    Selection selection = select("/w/*", "/w/alias/a.txt", "/w/real/*");

    assertThat(relative(selection)).containsExactly("alias", "real/a.txt");
  }

  @Test
  void symlinkToAFileOutsideTheRootIsSelectedAsThatFile() throws IOException {
    Path outside = file("elsewhere/data.bin");
    file("w/own.txt");
    Path link = link("w/data.bin", outside.toString());

    Selection selection = select("/w/**/*");

    assertThat(selection.symlinks()).isEmpty();
    assertThat(selection.files())
        .extracting(SelectedFile::relativePath, SelectedFile::viaSymlink, SelectedFile::path)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("data.bin", true, link),
            org.assertj.core.groups.Tuple.tuple("own.txt", false, fs.resolve("w/own.txt")));
  }

  @Test
  void symlinkedDirectoryOutsideTheRootIsWalkedLikeBuildomatDoes() throws IOException {
    file("elsewhere/lib/x.so");
    link("w/lib", fs.resolve("elsewhere/lib").toString());

    Selection selection = select("/w/**/*");

    assertThat(relative(selection)).containsExactly("lib/x.so");
    assertThat(selection.files().get(0).path()).isEqualTo(fs.resolve("w/lib/x.so"));
  }

  @Test
  void theWalkReportsTheEmptyDirectoriesItListedButNotThroughSymlinksOrExcludedOnes() throws IOException {
    file("w/a.txt");
    dir("w/empty");
    dir("w/sub/deep/empty too");
    dir("w/skipped/empty");
    file("w/holds-only-a-secret/.netrc");
    dir("elsewhere/lib/empty");
    link("w/lib", fs.resolve("elsewhere/lib").toString());
    dir("outside/empty");

    Selection selection = select("/w/**/*", "!/w/skipped/**");

    assertThat(selection.emptyDirectories()).containsExactly("empty", "sub/deep/empty too");
    assertThat(relative(selection)).containsExactly("a.txt");
    assertThat(select("/w/*").emptyDirectories()).as("no ** walk, no listing of every directory").isEmpty();
    assertThat(select("/w/empty/**/*").emptyDirectories()).as("not the root itself").isEmpty();
  }

  @Test
  void danglingSymlinkIsNotSelected() throws IOException {
    file("w/a.txt");
    link("w/gone", "nowhere");

    Selection selection = select("/w/*");

    assertThat(relative(selection)).containsExactly("a.txt");
  }

  @Test
  void symlinkCycleThroughADirectoryOutsideTheRootTerminates() throws IOException {
    // w/loop -> outside, outside/back -> w: both are followed (they resolve outside / inside the
    // walk), so only the cycle check stops the walk
    file("w/a.txt");
    file("outside/b.txt");
    link("w/loop", fs.resolve("outside").toString());
    link("outside/back", fs.resolve("w").toString());

    Selection selection = select("/w/**/*.txt");

    assertThat(relative(selection)).containsExactly("a.txt", "loop/b.txt");
  }

  @Test
  void symlinkCycleInsideTheTreeIsNotFollowedForever() throws IOException {
    file("w/d/a.txt");
    link("w/d/self", ".");
    link("w/d/up", "..");

    Selection selection = select("/w/**/*.txt");

    assertThat(relative(selection)).containsExactly("d/a.txt");
  }

  @Test
  void symlinkToAnAncestorIsNotWalked() throws IOException {
    file("w/a.txt");
    file("outside.txt");
    link("w/top", fs.toString());

    Selection selection = select("/w/**/*.txt");

    assertThat(relative(selection)).containsExactly("a.txt");
  }

  @Test
  void dotPatternsReachDotAndDotDotButNothingEscapesTheRoot() throws IOException {
    // the crate offers "." and ".." to a component starting with a literal '.': /w/.*/f walks
    // /w/./f and /w/../f; the latter lies outside the root /w and is dropped with a warning
    file("w/f");
    file("f");
    file("w/.git/f");

    Selection selection = select("/w/.*/f");

    assertThat(relative(selection)).containsExactly(".git/f", "f");
    assertThat(selection.warnings()).containsExactly("/f lies outside the set root /w; skipped");
  }

  @Test
  void secretsAreSkippedAndReported() throws IOException {
    file("home/build/.netrc");
    file("home/build/.ssh/id_ed25519");
    file("home/build/.ssh/id_ed25519.pub");
    file("home/build/.cargo/credentials.toml");
    file("home/build/.cargo/registry/index/x");

    Selection selection = select("/home/build/**/*");

    assertThat(relative(selection))
        .containsExactly(".cargo/registry/index/x", ".ssh/id_ed25519.pub");
    assertThat(selection.skippedSecrets())
        .extracting(SkippedSecret::secret)
        .containsExactly(".cargo/credentials.toml", ".netrc", ".ssh/id_* (SSH private key)");
    assertThat(selection.skippedSecrets().get(1).path()).isEqualTo(fs.resolve("home/build/.netrc"));
    assertThat(selection.warnings()).isEmpty();
  }

  @Test
  void secretsAreKeptWhenTheSetAllowsThem() throws IOException {
    file("home/build/.netrc");

    Selection selection =
        selector.allowingSecrets(true).select(List.of(OutputRule.parse("/home/build/*")));

    assertThat(relative(selection)).containsExactly(".netrc");
    assertThat(selection.skippedSecrets()).isEmpty();
  }

  @Test
  void symlinkToASecretOutsideTheRootIsSkipped() throws IOException {
    Path secret = file("home/build/.netrc");
    link("w/innocent", secret.toString());

    Selection selection = select("/w/*");

    assertThat(selection.entries()).isEmpty();
    assertThat(selection.skippedSecrets()).extracting(SkippedSecret::secret).containsExactly(".netrc");
  }

  @Test
  void noIncludeRuleSelectsNothingUnderTheFilesystemRoot() throws IOException {
    file("w/a");

    Selection selection = select("!/w/*");

    assertThat(selection.entries()).isEmpty();
    assertThat(selection.root()).isEqualTo(fs);
  }

  @Test
  void plainDirectoryPathsBecomeRecursiveRulesRootedAtTheDirectory() throws IOException {
    file("home/build/.cargo/registry/cache/a.crate");
    file("home/build/.cargo/git/b");
    Path registry = fs.resolve("home/build/.cargo/registry");

    PathRules rules = selector.rulesForPaths(List.of(registry));

    assertThat(rules.rules()).extracting(OutputRule::toString)
        .containsExactly("/home/build/.cargo/registry/**/*");
    assertThat(rules.root()).isEqualTo(registry);
    Selection selection = selector.select(rules.rules());
    assertThat(selection.root()).isEqualTo(registry);
    assertThat(relative(selection)).containsExactly("cache/a.crate");
  }

  @Test
  void plainPathsAreResolvedEscapedAndShareTheirCommonRoot() throws IOException {
    file("proj/we[ir]d*/x");
    file("proj/target/y");
    file("proj/Cargo.lock");
    link("proj/t", "target");

    PathRules rules =
        selector.rulesForPaths(
            List.of(
                fs.resolve("proj/we[ir]d*"),
                fs.resolve("proj/t/../t"), // resolves through the link to proj/target
                fs.resolve("proj/Cargo.lock")));

    assertThat(rules.rules())
        .extracting(OutputRule::toString)
        .containsExactly("/proj/we[[]ir[]]d[*]/**/*", "/proj/target/**/*", "/proj/Cargo.lock");
    assertThat(rules.root()).isEqualTo(fs.resolve("proj"));
    assertThat(relative(selector.select(rules.rules())))
        .containsExactly("Cargo.lock", "target/y", "we[ir]d*/x");
  }

  @Test
  void plainPathOutsideTheFilesystemRootIsRefused() {
    assertThatThrownBy(() -> selector.rulesForPaths(List.of(Path.of("/definitely/elsewhere"))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("outside the filesystem root");
  }

  @Test
  void logicalRootIgnoresExcludesAndNormalises() {
    List<OutputRule> rules =
        List.of(
            OutputRule.parse("/a/b/./c/*.txt"),
            OutputRule.parse("/a/b/d/../c/e/**/*"),
            OutputRule.parse("!/z/*"));

    assertThat(FileSelector.logicalRoot(rules)).isEqualTo("/a/b/c");
    assertThat(FileSelector.logicalRoot(List.of())).isEqualTo("/");
  }

  @Test
  void selectsAThirtyThousandFileTreeQuickly() throws IOException {
    List<String> expected = new ArrayList<>();
    byte[] content = {1};
    for (int d = 0; d < 30; d++) {
      for (int e = 0; e < 10; e++) {
        Path directory = Files.createDirectories(fs.resolve("big/d" + d + "/e" + e));
        for (int f = 0; f < 100; f++) {
          String name = "f" + f + (f % 10 == 0 ? ".tmp" : ".o");
          Files.write(directory.resolve(name), content);
          if (f % 10 != 0) {
            expected.add("d" + d + "/e" + e + "/" + name);
          }
        }
      }
    }
    expected.sort(null);

    long start = System.nanoTime();
    Selection selection = select("/big/**/*", "!/big/**/*.tmp", "%/big/d1*/**/*");
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertThat(selection.entries()).hasSize(27_000);
    assertThat(relative(selection)).isEqualTo(expected);
    assertThat(took).isLessThan(Duration.ofSeconds(10));
  }
}
