package dev.ephemera.rules;

import java.nio.file.Path;

/**
 * One entry a {@link FileSelector} selected: a regular file or a symlink kept as a symlink.
 *
 * <p>Entries sort by {@link #relativePath()}, the order a set's archive lists them in.
 */
public sealed interface Selected permits SelectedFile, SelectedSymlink {

  /** Where the entry is on the filesystem (under the selector's root override, if any). */
  Path path();

  /** The path relative to the selection's root, {@code /}-separated, never empty. */
  String relativePath();

  /** The first include rule (in the order given) that selected this entry. */
  OutputRule rule();
}
