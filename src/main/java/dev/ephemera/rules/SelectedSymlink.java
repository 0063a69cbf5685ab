package dev.ephemera.rules;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A symlink whose target resolves inside the set root, kept as a symlink (unlike buildomat's
 * uploads, which would store the target's content), so the restored tree has the same shape.
 *
 * @param path where the link is on the filesystem
 * @param relativePath its path relative to the selection root
 * @param target the link's own text, as {@code readlink} gives it (relative or absolute)
 * @param rule the first include rule that selected it
 */
public record SelectedSymlink(Path path, String relativePath, Path target, OutputRule rule)
    implements Selected {

  public SelectedSymlink {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(rule, "rule");
    if (relativePath == null || relativePath.isEmpty()) {
      throw new IllegalArgumentException("a selected symlink needs a relative path");
    }
  }
}
