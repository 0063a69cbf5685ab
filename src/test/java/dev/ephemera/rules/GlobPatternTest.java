package dev.ephemera.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Whole-path matching (how exclude rules are applied) and pattern compilation, checked against
 * what the Rust {@code glob} 0.3 crate does with default {@code MatchOptions}.
 */
class GlobPatternTest {

  static Stream<Arguments> matching() {
    // pattern, text, expected
    return Stream.of(
        // literals, case-sensitive
        Arguments.of("/a/b.txt", "/a/b.txt", true),
        Arguments.of("/a/b.txt", "/a/B.txt", false),
        Arguments.of("/a/b.txt", "/a/b.txt2", false),
        Arguments.of("", "", true),
        Arguments.of("", "x", false),
        // ?
        Arguments.of("c?t", "cat", true),
        Arguments.of("c?t", "ct", false),
        Arguments.of("c?t", "caat", false),
        // *
        Arguments.of("a*b", "a_b", true),
        Arguments.of("a*b*c", "abc", true),
        Arguments.of("a*b*c", "abcd", false),
        Arguments.of("a*b*c", "a___b___c", true),
        Arguments.of("abc*abc*abc", "abcabcabcabcabcabcabc", true),
        Arguments.of("abc*abc*abc", "abcabcabcabcabcabcabca", false),
        Arguments.of("a*a*a*a*a*a*a*a*a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true),
        Arguments.of("a*b[xyz]c*d", "abxcdbxcddd", true),
        Arguments.of("*hello.txt", "hello.txt", true),
        Arguments.of("*hello.txt", "gareth_says_hello.txt", true),
        Arguments.of("*hello.txt", "hello.txt-and-then-some", false),
        // exclude asymmetry: in whole-path matching, *, ? and classes match '/'
        Arguments.of("/tmp/*.jpg", "/tmp/a.jpg", true),
        Arguments.of("/tmp/*.jpg", "/tmp/a/b.jpg", true),
        Arguments.of("/tmp/*", "/tmp/a/b/c", true),
        Arguments.of("/tmp/a?b", "/tmp/a/b", true),
        Arguments.of("/tmp/a[!x]b", "/tmp/a/b", true),
        Arguments.of("/tmp/a[/]b", "/tmp/a/b", true),
        Arguments.of("/tmp/*.jpg", "/var/a.jpg", false),
        // leading dots are not special
        Arguments.of("*", ".hidden", true),
        Arguments.of("/home/*", "/home/.cargo", true),
        Arguments.of("?git", ".git", true),
        Arguments.of("[.]git", ".git", true),
        Arguments.of("/a/*/c", "/a/.b/c", true),
        // ** at the start
        Arguments.of("**", "", true),
        Arguments.of("**", "abcde", true),
        Arguments.of("**", "/x/.asdf", true),
        Arguments.of("**/test", "test", true),
        Arguments.of("**/test", "one/test", true),
        Arguments.of("**/test", "one/two/test", true),
        Arguments.of("**/test", "one/atest", false),
        Arguments.of("/**/test", "/test", true),
        Arguments.of("/**/test", "/one/two/test", true),
        Arguments.of("/**/test", "/one/notthis", false),
        Arguments.of("**/.*", ".abc", true),
        Arguments.of("**/.*", "abc/.abc", true),
        Arguments.of("**/.*", "ab.c", false),
        Arguments.of("**/.*", "abc/ab.c", false),
        // ** in the middle
        Arguments.of("some/**/needle.txt", "some/needle.txt", true),
        Arguments.of("some/**/needle.txt", "some/one/needle.txt", true),
        Arguments.of("some/**/needle.txt", "some/one/two/needle.txt", true),
        Arguments.of("some/**/needle.txt", "some/other/notthis.txt", false),
        Arguments.of("some/**/needle.txt", "some/oneneedle.txt", false),
        Arguments.of("some/**/**/needle.txt", "some/needle.txt", true),
        Arguments.of("some/**/**/needle.txt", "some/one/two/needle.txt", true),
        Arguments.of("/a/**/*.rs", "/a/x.rs", true),
        Arguments.of("/a/**/*.rs", "/a/b/c/x.rs", true),
        Arguments.of("/a/**/*.rs", "/b/x.rs", false),
        // ** at the end: anything below, but not the directory itself
        Arguments.of("/a/**", "/a/", true),
        Arguments.of("/a/**", "/a/b", true),
        Arguments.of("/a/**", "/a/b/c", true),
        Arguments.of("/a/**", "/a", false),
        Arguments.of("/a/**", "/ab", false),
        // character classes and ranges
        Arguments.of("a[0-9]b", "a5b", true),
        Arguments.of("a[0-9]b", "a_b", false),
        Arguments.of("a[!0-9]b", "a5b", false),
        Arguments.of("a[!0-9]b", "a_b", true),
        Arguments.of("[a-z123]", "q", true),
        Arguments.of("[1a-z23]", "2", true),
        Arguments.of("[123a-z]", "Q", false),
        Arguments.of("[abc-]", "-", true),
        Arguments.of("[-abc]", "-", true),
        Arguments.of("[a-c-]", "b", true),
        Arguments.of("[a-c-]", "d", false),
        Arguments.of("[2-1]", "1", false),
        Arguments.of("[2-1]", "2", false),
        Arguments.of("[-]", "-", true),
        Arguments.of("[!-]", "-", false),
        Arguments.of("[]]", "]", true),
        Arguments.of("[!]]", "]", false),
        Arguments.of("[!]]", "a", true),
        Arguments.of("[]a]", "a", true),
        Arguments.of("[?]", "?", true),
        Arguments.of("[?]", "a", false),
        Arguments.of("[*]", "*", true),
        Arguments.of("[[]", "[", true),
        Arguments.of("k[!e]tteh", "kitteh", true),
        Arguments.of("k[!e]tteh", "ketteh", false),
        Arguments.of("[A-Z]", "a", false),
        // "**" not as a whole component is an error, so nothing to match; "!" outside brackets is
        // literal; backslash is literal
        Arguments.of("a!b", "a!b", true),
        Arguments.of("a\\*", "a\\xyz", true),
        Arguments.of("a\\*", "a*", false),
        // non-ASCII characters are single characters
        Arguments.of("caf?", "café", true),
        Arguments.of("[é-ë]", "ê", true),
        Arguments.of("x?y", "x\uD83D\uDE00y", true));
  }

  @ParameterizedTest(name = "{0} vs {1} -> {2}")
  @MethodSource("matching")
  void matchesWholePathsLikeTheCrate(String pattern, String text, boolean expected) {
    assertThat(GlobPattern.compile(pattern).matches(text)).isEqualTo(expected);
  }

  static Stream<Arguments> errors() {
    // the crate's own error positions
    return Stream.of(
        Arguments.of("a/**b", 4, "recursive wildcards must form a single path component"),
        Arguments.of("a/bc**", 3, "recursive wildcards must form a single path component"),
        Arguments.of("a/*****", 4, "wildcards are either regular `*` or recursive `**`"),
        Arguments.of("a/b**c**d", 2, "recursive wildcards must form a single path component"),
        Arguments.of("a**b", 0, "recursive wildcards must form a single path component"),
        Arguments.of("***", 2, "wildcards are either regular `*` or recursive `**`"),
        Arguments.of("abc[def", 3, "invalid range pattern"),
        Arguments.of("abc[!def", 3, "invalid range pattern"),
        Arguments.of("abc[", 3, "invalid range pattern"),
        Arguments.of("abc[!", 3, "invalid range pattern"),
        Arguments.of("abc[d", 3, "invalid range pattern"),
        Arguments.of("abc[!d", 3, "invalid range pattern"),
        Arguments.of("abc[]", 3, "invalid range pattern"),
        Arguments.of("abc[!]", 3, "invalid range pattern"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("errors")
  void rejectsWhatTheCrateRejectsAtTheSamePosition(String pattern, int position, String reason) {
    assertThatThrownBy(() -> GlobPattern.compile(pattern))
        .isInstanceOfSatisfying(
            GlobSyntaxException.class,
            e -> {
              assertThat(e.position()).isEqualTo(position);
              assertThat(e.reason()).isEqualTo(reason);
            });
  }

  @Test
  void unclosedBracketAfterAValidOneIsStillAnError() {
    assertThatThrownBy(() -> GlobPattern.compile("[a][")).isInstanceOf(GlobSyntaxException.class);
  }

  static Stream<Arguments> literals() {
    return Stream.of(
        Arguments.of("abc", "abc"),
        Arguments.of("", ""),
        Arguments.of("a[*]b", "a*b"),
        Arguments.of("[[]x[]]", "[x]"),
        Arguments.of("a*", null),
        Arguments.of("a?", null),
        Arguments.of("[ab]", null),
        Arguments.of("[!a]", null),
        Arguments.of("[a-a]", "a"));
  }

  @ParameterizedTest(name = "[{0}] -> {1}")
  @MethodSource("literals")
  void knowsWhenAPatternMatchesExactlyOneString(String pattern, String literal) {
    assertThat(GlobPattern.compile(pattern).literalValue().orElse(null)).isEqualTo(literal);
  }

  @Test
  void escapeMakesMetacharactersLiteral() {
    String name = "/home/build/we[i]rd *name?/x";
    GlobPattern escaped = GlobPattern.compile(GlobPattern.escape(name));

    assertThat(GlobPattern.escape(name)).isEqualTo("/home/build/we[[]i[]]rd [*]name[?]/x");
    assertThat(escaped.matches(name)).isTrue();
    assertThat(escaped.matches("/home/build/weird xname!/x")).isFalse();
    assertThat(escaped.literalValue()).hasValue(name);
  }

  @Test
  void knowsMetacharactersAndTheRecursiveWildcard() {
    assertThat(GlobPattern.compile("abc").hasMetachars()).isFalse();
    assertThat(GlobPattern.compile("a?c").hasMetachars()).isTrue();
    assertThat(GlobPattern.compile("[a]").hasMetachars()).isTrue();
    assertThat(GlobPattern.compile("**").isRecursiveWildcard()).isTrue();
    assertThat(GlobPattern.compile("*").isRecursiveWildcard()).isFalse();
    assertThat(GlobPattern.compile("**/a").isRecursiveWildcard()).isFalse();
  }

  static Stream<Arguments> pathGlobs() {
    // pattern, components, requireDirectory, selectsNoFiles, literalDirectory
    return Stream.of(
        Arguments.of("/a/b/*.txt", List.of("a", "b", "*.txt"), false, false, "/a/b"),
        Arguments.of("/a/b/c.txt", List.of("a", "b", "c.txt"), false, false, "/a/b"),
        Arguments.of("/a/**/*", List.of("a", "**", "*"), false, false, "/a"),
        Arguments.of("/a/**", List.of("a", "**"), false, true, "/a"),
        Arguments.of("/**/*.log", List.of("**", "*.log"), false, false, "/"),
        Arguments.of("/a/b/", List.of("a", "b"), true, true, "/a"),
        Arguments.of("/", List.of(""), true, true, "/"),
        Arguments.of("/a//b/*", List.of("a", "", "b", "*"), false, false, "/a/b"),
        Arguments.of("/a/./b/../c/*", List.of("a", ".", "b", "..", "c", "*"), false, false, "/a/c"),
        Arguments.of("/x/[*]/y/*", List.of("x", "[*]", "y", "*"), false, false, "/x/*/y"),
        Arguments.of("/x/[ab]/y", List.of("x", "[ab]", "y"), false, false, "/x"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("pathGlobs")
  void splitsIncludePatternsIntoComponents(
      String pattern,
      List<String> components,
      boolean requireDirectory,
      boolean selectsNoFiles,
      String literalDirectory) {
    PathGlob glob = PathGlob.compile(pattern);

    assertThat(glob.components()).extracting(GlobPattern::source).isEqualTo(components);
    assertThat(glob.requireDirectory()).isEqualTo(requireDirectory);
    assertThat(glob.selectsNoFiles()).isEqualTo(selectsNoFiles);
    assertThat(glob.literalDirectory()).isEqualTo(literalDirectory);
  }

  @Test
  void pathGlobRefusesRelativePatterns() {
    assertThatThrownBy(() -> PathGlob.compile("a/*"))
        .isInstanceOf(RuleSyntaxException.class)
        .hasMessage("output rule pattern must be absolute path");
  }
}
