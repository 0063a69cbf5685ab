package dev.ephemera.rules;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A regular file to persist.
 *
 * @param path where it is on the filesystem
 * @param relativePath its path relative to the selection root
 * @param rule the first include rule that selected it
 * @param sizeChangeOk a {@code %} rule matches its path: if it changes or vanishes while it is
 *     read, warn instead of failing (buildomat decides this by whole-path matching of every
 *     {@code %} rule, not only the rule that selected the file)
 * @param viaSymlink {@code path} is a symlink to a regular file outside the set root; as in
 *     buildomat's uploads, the content of the target is persisted as a regular file
 */
public record SelectedFile(
    Path path, String relativePath, OutputRule rule, boolean sizeChangeOk, boolean viaSymlink)
    implements Selected {

  public SelectedFile {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(rule, "rule");
    if (relativePath == null || relativePath.isEmpty()) {
      throw new IllegalArgumentException("a selected file needs a relative path");
    }
  }
}
