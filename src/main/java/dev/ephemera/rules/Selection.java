package dev.ephemera.rules;

import java.nio.file.Path;
import java.util.List;

/**
 * What a set's rules select on the filesystem right now.
 *
 * <p>A selection with {@link #errors()} (a {@code =} rule that selected nothing) must not be
 * persisted as if it were complete; {@link #warnings()} are for the job log.
 *
 * @param root the set's root on the filesystem: the longest common directory of the include
 *     rules' literal parts; every entry lies under it, and restore unfurls the set there
 * @param entries files and kept symlinks, sorted by relative path, each once
 * @param warnings things the job author should know (a rule that can select nothing, an
 *     unreadable directory, an entry outside the root), in rule order; skipped secrets are not
 *     repeated here
 * @param errors required ({@code =}) rules that selected nothing
 * @param skippedSecrets files left out by the secrets deny-list, sorted by path
 * @param emptyDirectories directories a {@code **} walk found empty (no entry at all), relative to
 *     the root and sorted, not counting the root itself, excluded paths or directories reached
 *     through a symlink: what {@code persist NAME PATH} keeps besides the files, since rules select
 *     files only
 */
public record Selection(
    Path root,
    List<Selected> entries,
    List<String> warnings,
    List<String> errors,
    List<SkippedSecret> skippedSecrets,
    List<String> emptyDirectories) {

  public Selection {
    entries = List.copyOf(entries);
    warnings = List.copyOf(warnings);
    errors = List.copyOf(errors);
    skippedSecrets = List.copyOf(skippedSecrets);
    emptyDirectories = List.copyOf(emptyDirectories);
  }

  /** Whether no {@code =} rule went unmatched. */
  public boolean ok() {
    return errors.isEmpty();
  }

  /** The regular files, sorted by relative path. */
  public List<SelectedFile> files() {
    return entries.stream()
        .filter(SelectedFile.class::isInstance)
        .map(SelectedFile.class::cast)
        .toList();
  }

  /** The kept symlinks, sorted by relative path. */
  public List<SelectedSymlink> symlinks() {
    return entries.stream()
        .filter(SelectedSymlink.class::isInstance)
        .map(SelectedSymlink.class::cast)
        .toList();
  }
}
