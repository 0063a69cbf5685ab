package dev.ephemera.rules;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Properties of rule matching, checked against an independent oracle: each generated glob is also
 * written as a Java regex, once with glob 0.3's whole-path meaning (exclude rules) and once with
 * its per-component meaning (include rules expanded on a filesystem).
 */
class RulePropertiesTest {

  /** One path component: its glob, its whole-path regex, its within-one-component regex. */
  record Component(String glob, String wholeRegex, String componentRegex) {}

  static final Component RECURSIVE = new Component("**", null, null);

  /** Components whose meaning does not involve "." and ".." (safe to walk on a filesystem). */
  static final List<Component> WALKABLE =
      List.of(
          new Component("a", "a", "a"),
          new Component("b", "b", "b"),
          new Component(".h", "\\.h", "\\.h"),
          new Component("f", "f", "f"),
          new Component("g.txt", "g\\.txt", "g\\.txt"),
          new Component("*", ".*", "[^/]*"),
          new Component("?", ".", "[^/]"),
          new Component("*.txt", ".*\\.txt", "[^/]*\\.txt"),
          new Component("[ab]", "[ab]", "[ab]"),
          new Component("[!a]", "[^a]", "[^a/]"),
          new Component("[a-c]*", "[a-c].*", "[a-c][^/]*"),
          new Component("g*", "g.*", "g[^/]*"),
          new Component("?.txt", ".\\.txt", "[^/]\\.txt"),
          new Component("*e", ".*e", "[^/]*e"),
          new Component("[]a]", "[\\]a]", "[\\]a]"),
          new Component("[-.]*", "[-.].*", "[-.][^/]*"),
          RECURSIVE);

  /** A generated absolute pattern with both regex readings. */
  record Glob(String text, Pattern whole, Pattern perComponent) {
    @Override
    public String toString() {
      return text;
    }
  }

  static Glob glob(List<Component> components) {
    StringBuilder text = new StringBuilder("/");
    StringBuilder whole = new StringBuilder("/");
    StringBuilder perComponent = new StringBuilder("/");
    for (int i = 0; i < components.size(); i++) {
      Component c = components.get(i);
      boolean last = i == components.size() - 1;
      text.append(c.glob()).append(last ? "" : "/");
      if (c == RECURSIVE) {
        // "**" swallows the '/' after it: nothing, or anything ending in '/', or everything left
        whole.append("(?:.*/|.*\\z)?");
        // as a component on a filesystem: zero or more directories
        perComponent.append("(?:[^/]+/)*");
      } else {
        whole.append(c.wholeRegex()).append(last ? "" : "/");
        perComponent.append(c.componentRegex()).append(last ? "" : "/");
      }
    }
    return new Glob(
        text.toString(), Pattern.compile(whole.toString()), Pattern.compile(perComponent.toString()));
  }

  @Provide
  Arbitrary<Glob> globs() {
    Arbitrary<Component> component =
        Arbitraries.of(
            Stream.concat(
                    WALKABLE.stream(),
                    Stream.of(new Component(".*", "\\..*", "\\.[^/]*")))
                .toList());
    return component.list().ofMinSize(1).ofMaxSize(4).map(RulePropertiesTest::glob);
  }

  @Provide
  Arbitrary<Glob> walkableGlobs() {
    return Arbitraries.of(WALKABLE).list().ofMinSize(1).ofMaxSize(4).map(RulePropertiesTest::glob);
  }

  @Provide
  Arbitrary<String> texts() {
    Arbitrary<String> segment = Arbitraries.of("a", "b", ".h", "f", "g.txt", ".e", "ae", "x", "]", "-");
    Arbitrary<String> paths =
        segment.list().ofMinSize(0).ofMaxSize(4).map(s -> "/" + String.join("/", s));
    Arbitrary<String> noise =
        Arbitraries.strings().withChars("ab/.gtxe]-").ofMaxLength(14);
    return Arbitraries.oneOf(paths, noise);
  }

  @Property(tries = 3000)
  void wholePathMatchingAgreesWithTheRegexReading(
      @ForAll("globs") Glob glob, @ForAll("texts") String text) {
    GlobPattern compiled = GlobPattern.compile(glob.text());
    boolean expected = glob.whole().matcher(text).matches();

    assertThat(compiled.matches(text)).as("%s vs %s", glob, text).isEqualTo(expected);
    assertThat(compiled.matchesWithMasks(text)).isEqualTo(expected);
    assertThat(compiled.matchesWithArrays(text)).isEqualTo(expected);
  }

  @Property
  void escapedTextMatchesItselfAndIsLiteral(
      @ForAll("texts") String text, @ForAll("texts") String other) {
    GlobPattern escaped = GlobPattern.compile(GlobPattern.escape(text + "*?[]"));

    assertThat(escaped.matches(text + "*?[]")).isTrue();
    assertThat(escaped.literalValue()).hasValue(text + "*?[]");
    assertThat(escaped.matches(other + "*?[]")).isEqualTo(other.equals(text));
  }

  @Provide
  Arbitrary<OutputRule> rules() {
    Arbitrary<String> sigils = Arbitraries.of("", "!", "=", "%", "=%", "%=");
    return Combinators.combine(sigils, walkableGlobs())
        .as((sigil, glob) -> OutputRule.parse(sigil + glob.text()));
  }

  @Property
  void ruleTextRoundTrips(@ForAll("rules") OutputRule rule) {
    assertThat(OutputRule.parse(rule.toString())).isEqualTo(rule);
  }

  /** Directories and file names are disjoint, so any set of file paths can be created. */
  @Provide
  Arbitrary<List<String>> trees() {
    Arbitrary<String> directory = Arbitraries.of("a", "b", ".h");
    Arbitrary<String> name = Arbitraries.of("f", "g.txt", ".e", "ae", "]", "-x");
    Arbitrary<String> path =
        Combinators.combine(directory.list().ofMaxSize(2), name)
            .as((dirs, n) -> String.join("/", dirs) + (dirs.isEmpty() ? "" : "/") + n);
    return path.list().ofMinSize(1).ofMaxSize(15).uniqueElements();
  }

  @Property(tries = 60)
  void selectsExactlyTheFilesAnIncludeRuleReachesAndNoExcludeRuleMatches(
      @ForAll("trees") List<String> files,
      @ForAll("includes") List<Glob> includes,
      @ForAll("excludes") List<Glob> excludes)
      throws IOException {
    Path root = Files.createTempDirectory("rules-property");
    try {
      for (String file : files) {
        Path path = root.resolve(file);
        Files.createDirectories(path.getParent());
        Files.writeString(path, file);
      }
      List<OutputRule> rules = new ArrayList<>();
      includes.forEach(g -> rules.add(OutputRule.parse(g.text())));
      excludes.forEach(g -> rules.add(OutputRule.parse("!" + g.text())));

      Selection selection = FileSelector.underRoot(root).select(rules);

      TreeSet<String> expected = new TreeSet<>();
      for (String file : files) {
        String logical = "/" + file;
        boolean included = includes.stream().anyMatch(g -> g.perComponent().matcher(logical).matches());
        boolean excluded = excludes.stream().anyMatch(g -> g.whole().matcher(logical).matches());
        if (included && !excluded) {
          expected.add(logical);
        }
      }
      List<String> actual =
          selection.entries().stream()
              .map(e -> "/" + root.relativize(e.path()).toString())
              .toList();
      assertThat(actual).containsExactlyInAnyOrderElementsOf(expected);
      List<String> relative = selection.entries().stream().map(Selected::relativePath).toList();
      assertThat(relative).doesNotHaveDuplicates().isSortedAccordingTo(Comparator.naturalOrder());
      assertThat(selection.entries())
          .allSatisfy(e -> assertThat(e.path()).startsWith(selection.root()));
    } finally {
      try (Stream<Path> walk = Files.walk(root)) {
        for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }

  @Provide
  Arbitrary<List<Glob>> includes() {
    return walkableGlobs().list().ofMinSize(1).ofMaxSize(3);
  }

  @Provide
  Arbitrary<List<Glob>> excludes() {
    return walkableGlobs().list().ofMaxSize(2);
  }
}
