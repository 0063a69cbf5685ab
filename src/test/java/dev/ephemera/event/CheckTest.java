package dev.ephemera.event;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** The hand-written field tests accept exactly what the schemas' regular expressions accept. */
class CheckTest {
  private static final List<Check.Shape> SHAPES =
      List.of(Check.OWNER, Check.SET_NAME, Check.SCOPE, Check.SHA256, Check.GIT_SHA, Check.NO_SPACE, Check.RULE);

  private static void agree(String s) {
    for (Check.Shape shape : SHAPES) {
      assertThat(shape.matches(s))
          .as("%s on \"%s\"", shape.pattern(), s)
          .isEqualTo(shape.pattern().matcher(s).matches());
    }
  }

  @Property(tries = 5000)
  void eachShapeAcceptsExactlyWhatItsPatternAccepts(@ForAll("candidates") String s) {
    agree(s);
  }

  @Example
  void theBoundariesAgreeToo() {
    for (String s : List.of("", "a", "-a", "a-", "gong-123", "a".repeat(64), "a".repeat(65), "a".repeat(128),
        "a".repeat(129), "branch:", "branch:main", "branch: main", "branch:" + "x".repeat(255),
        "branch:" + "x".repeat(256), "branch:" + "\uD83D\uDE00".repeat(255), "branch:" + "\uD83D\uDE00".repeat(256),
        "branch:\uD800", "pr:", "pr:0", "pr:1", "pr:1234567890", "pr:12345678901", "pr:01", "0".repeat(40),
        "0".repeat(63), "0".repeat(64), "A".repeat(64), "/x", "!/x", "=%/x", "%=/x", "%%/x", "\u000B", "\u00A0")) {
      agree(s);
    }
  }

  @Provide
  Arbitrary<String> candidates() {
    Arbitrary<String> piece =
        Arbitraries.of("a", "Z", "0", "9", "5", "f", ".", "_", "-", " ", "\t", "\n", "\u000B", "\f", "\r", ":", "\u00e9",
            "\u00A0", "\u2003", "\uD83D\uDE00", "\uD800", "/", "!", "=", "%", "x");
    Arbitrary<String> body = piece.list().ofMaxSize(300).map(l -> String.join("", l));
    Arbitrary<String> prefix = Arbitraries.of("", "", "", "branch:", "pr:", "pr:1", "pr:0", "!", "=%");
    Arbitrary<String> mixed = Combinators.combine(prefix, body).as(String::concat);
    Arbitrary<String> names = Arbitraries.strings().withChars("aZ09._-").ofMaxLength(130);
    Arbitrary<String> hexes = Arbitraries.strings().withChars("0123456789abcdefA").ofMinLength(38).ofMaxLength(66);
    Arbitrary<String> prs = Arbitraries.strings().withChars("0123456789").ofMaxLength(12).map(d -> "pr:" + d);
    Arbitrary<String> branches =
        Arbitraries.strings().withChars("ab\uD83D\uDE00").ofMinLength(240).ofMaxLength(270).map(b -> "branch:" + b);
    return Arbitraries.oneOf(mixed, names, hexes, prs, branches);
  }
}
