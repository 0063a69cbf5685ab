package dev.ephemera.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class OutputRuleTest {

  static Stream<Arguments> validRules() {
    // text, pattern, exclude, requireMatch, sizeChangeOk, canonical text
    return Stream.of(
        Arguments.of("/work/out.txt", "/work/out.txt", false, false, false, "/work/out.txt"),
        Arguments.of("/tmp/*.log", "/tmp/*.log", false, false, false, "/tmp/*.log"),
        Arguments.of("!/tmp/*.jpg", "/tmp/*.jpg", true, false, false, "!/tmp/*.jpg"),
        Arguments.of("=/work/*.tgz", "/work/*.tgz", false, true, false, "=/work/*.tgz"),
        Arguments.of("%/var/log/*", "/var/log/*", false, false, true, "%/var/log/*"),
        Arguments.of("=%/a/**/*", "/a/**/*", false, true, true, "%=/a/**/*"),
        Arguments.of("%=/a/**/*", "/a/**/*", false, true, true, "%=/a/**/*"),
        Arguments.of("/", "/", false, false, false, "/"),
        Arguments.of("//x", "//x", false, false, false, "//x"),
        // sigil characters after the leading slash belong to the pattern
        Arguments.of("/!=%", "/!=%", false, false, false, "/!=%"),
        Arguments.of("!/a/[!x]", "/a/[!x]", true, false, false, "!/a/[!x]"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("validRules")
  void parsesSigilsAndPattern(
      String text,
      String pattern,
      boolean exclude,
      boolean requireMatch,
      boolean sizeChangeOk,
      String canonical) {
    OutputRule rule = OutputRule.parse(text);

    assertThat(rule).isEqualTo(new OutputRule(pattern, exclude, requireMatch, sizeChangeOk));
    assertThat(rule.toString()).isEqualTo(canonical);
    assertThat(OutputRule.parse(rule.toString())).isEqualTo(rule);
  }

  static Stream<Arguments> invalidRules() {
    return Stream.of(
        Arguments.of("", "output rule pattern must be absolute path"),
        Arguments.of("!", "output rule pattern must be absolute path"),
        Arguments.of("=", "output rule pattern must be absolute path"),
        Arguments.of("%", "output rule pattern must be absolute path"),
        Arguments.of("=%", "output rule pattern must be absolute path"),
        Arguments.of("%=", "output rule pattern must be absolute path"),
        Arguments.of("work/out.txt", "wanted sigil/absolute path, not 'w'"),
        Arguments.of(" /a", "wanted sigil/absolute path, not ' '"),
        Arguments.of("\t/a", "wanted sigil/absolute path, not '\\t'"),
        Arguments.of("'/a", "wanted sigil/absolute path, not '\\''"),
        Arguments.of("~/a", "wanted sigil/absolute path, not '~'"),
        Arguments.of("!!/a", "wanted '/', not '!', in output rule"),
        Arguments.of("!=/a", "wanted '/', not '=', in output rule"),
        Arguments.of("!%/a", "wanted '/', not '%', in output rule"),
        Arguments.of("!a", "wanted '/', not 'a', in output rule"),
        Arguments.of("==/a", "'=' unexpected in output rule"),
        Arguments.of("=!/a", "'!' unexpected in output rule"),
        Arguments.of("=a", "'a' unexpected in output rule"),
        Arguments.of("%%/a", "'%' unexpected in output rule"),
        Arguments.of("%!/a", "'!' unexpected in output rule"),
        Arguments.of("%a", "'a' unexpected in output rule"),
        Arguments.of("=%=/a", "wanted '/', not '=', in output rule"),
        Arguments.of("%=%/a", "wanted '/', not '%', in output rule"),
        Arguments.of("=%!/a", "wanted '/', not '!', in output rule"));
  }

  @ParameterizedTest(name = "[{0}] -> {1}")
  @MethodSource("invalidRules")
  void rejectsWithBuildomatsMessage(String text, String message) {
    assertThatThrownBy(() -> OutputRule.parse(text))
        .isInstanceOf(RuleSyntaxException.class)
        .hasMessage(message);
  }

  static Stream<Arguments> invalidGlobs() {
    return Stream.of(
        Arguments.of("/a/**b", 5, "recursive wildcards must form a single path component"),
        Arguments.of("/a**/b", 1, "recursive wildcards must form a single path component"),
        Arguments.of("/a/***", 5, "wildcards are either regular `*` or recursive `**`"),
        Arguments.of("/abc[def", 4, "invalid range pattern"),
        Arguments.of("!/abc[!", 4, "invalid range pattern"),
        Arguments.of("=/x/[]", 3, "invalid range pattern"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalidGlobs")
  void rejectsGlobsTheCrateRejects(String text, int position, String reason) {
    assertThatThrownBy(() -> OutputRule.parse(text))
        .isInstanceOfSatisfying(
            GlobSyntaxException.class,
            e -> {
              assertThat(e.position()).isEqualTo(position);
              assertThat(e.reason()).isEqualTo(reason);
              assertThat(e.getMessage())
                  .isEqualTo("Pattern syntax error near position " + position + ": " + reason);
            });
  }

  @Test
  void includeRuleWhoseComponentDoesNotCompileIsRejectedButTheSameExcludeIsNot() {
    // "[/]" compiles as a whole pattern, but split into components it leaves "a[" and "]b"
    assertThatThrownBy(() -> OutputRule.parse("/a[/]b")).isInstanceOf(GlobSyntaxException.class);

    assertThat(OutputRule.parse("!/a[/]b").glob().matches("/a/b")).isTrue();
  }

  @Test
  void constructorRefusesExcludeCombinedWithOtherSigils() {
    assertThatThrownBy(() -> new OutputRule("/a", true, true, false))
        .isInstanceOf(RuleSyntaxException.class);
    assertThatThrownBy(() -> new OutputRule("/a", true, false, true))
        .isInstanceOf(RuleSyntaxException.class);
  }

  @Test
  void constructorRefusesRelativePatterns() {
    assertThatThrownBy(() -> OutputRule.include("a/b"))
        .isInstanceOf(RuleSyntaxException.class)
        .hasMessage("output rule pattern must be absolute path");
  }

  @Test
  void factoriesBuildPlainIncludeAndExcludeRules() {
    assertThat(OutputRule.include("/a/*")).isEqualTo(OutputRule.parse("/a/*"));
    assertThat(OutputRule.excluding("/a/*")).isEqualTo(OutputRule.parse("!/a/*"));
  }
}
