package dev.ephemera.rules;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * An absolute include pattern split into one {@link GlobPattern} per path component, the way
 * {@code glob::glob} splits it before walking the filesystem.
 *
 * <p>The split is on every {@code /} after the leading one; one trailing empty piece is dropped
 * (Rust's {@code split_terminator}) and instead makes the pattern {@linkplain #requireDirectory()
 * match directories only}. An empty component (from {@code //}) stands for "this same path, if it
 * is a directory". {@code .} and {@code ..} as literal components are followed as the filesystem
 * resolves them.
 *
 * @param pattern the absolute pattern (without sigils)
 * @param components one compiled pattern per component; never empty ("/" is one empty component)
 * @param requireDirectory the pattern ends in {@code /}: only directories match, so no file does
 */
public record PathGlob(String pattern, List<GlobPattern> components, boolean requireDirectory) {

  public PathGlob {
    if (!pattern.startsWith("/")) {
      throw new RuleSyntaxException("output rule pattern must be absolute path");
    }
    if (components.isEmpty()) {
      throw new IllegalArgumentException("a path glob has at least one component");
    }
    components = List.copyOf(components);
  }

  /**
   * Splits and compiles an absolute pattern.
   *
   * @throws GlobSyntaxException if the whole pattern, or any one component, does not compile
   *     (e.g. {@code /a[/]b} compiles as a whole but its component {@code a[} does not)
   */
  public static PathGlob compile(String pattern) {
    if (!pattern.startsWith("/")) {
      throw new RuleSyntaxException("output rule pattern must be absolute path");
    }
    GlobPattern.compile(pattern); // errors carry positions in the whole pattern, as buildomat's do
    List<String> pieces = new ArrayList<>(List.of(pattern.substring(1).split("/", -1)));
    if (pieces.get(pieces.size() - 1).isEmpty()) {
      pieces.remove(pieces.size() - 1);
    }
    if (pieces.isEmpty()) {
      pieces.add("");
    }
    List<GlobPattern> components = new ArrayList<>(pieces.size());
    for (String piece : pieces) {
      components.add(GlobPattern.compile(piece));
    }
    return new PathGlob(pattern, components, pattern.endsWith("/"));
  }

  /**
   * Whether no regular file can ever match: the last component is {@code **} (which the walk
   * yields only for directories) or the pattern ends in {@code /}.
   */
  public boolean selectsNoFiles() {
    return requireDirectory || components.get(components.size() - 1).isRecursiveWildcard();
  }

  /**
   * The directory every match lies under, as far as the pattern spells it literally: the leading
   * literal components (escapes such as {@code [*]} count as literal), or for a pattern that is
   * literal throughout, its parent. {@code .} and {@code ..} are resolved lexically. Returned as
   * an absolute path string ({@code "/"} at the least).
   */
  public String literalDirectory() {
    List<String> parts = new ArrayList<>();
    boolean allLiteral = true;
    for (GlobPattern component : components) {
      Optional<String> literal = component.literalValue();
      if (literal.isEmpty()) {
        allLiteral = false;
        break;
      }
      parts.add(literal.get());
    }
    if (allLiteral && !parts.isEmpty()) {
      parts.remove(parts.size() - 1);
    }
    List<String> normal = new ArrayList<>();
    for (String part : parts) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        if (!normal.isEmpty()) {
          normal.remove(normal.size() - 1);
        }
        continue;
      }
      normal.add(part);
    }
    return "/" + String.join("/", normal);
  }
}
