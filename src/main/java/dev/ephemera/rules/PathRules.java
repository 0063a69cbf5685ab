package dev.ephemera.rules;

import java.nio.file.Path;
import java.util.List;

/**
 * The rules that persist plain paths ({@code ephemera persist NAME PATH...}) and the root they
 * share.
 *
 * @param rules {@code PATH/**}{@code /*} for a directory, {@code PATH} itself for anything else,
 *     with glob metacharacters in PATH escaped
 * @param root the longest common directory of the paths (a directory PATH is its own root)
 */
public record PathRules(List<OutputRule> rules, Path root) {
  public PathRules {
    rules = List.copyOf(rules);
  }
}
