/**
 * Buildomat {@code output_rules}, reimplemented exactly, and the file selection built on them.
 *
 * <ul>
 *   <li>{@link dev.ephemera.rules.OutputRule}: sigils and an absolute glob, parsed as buildomat's
 *       server parses them.
 *   <li>{@link dev.ephemera.rules.GlobPattern} and {@link dev.ephemera.rules.PathGlob}: Rust's
 *       {@code glob} 0.3 semantics, whole-path (exclude rules) and per component (include rules).
 *   <li>{@link dev.ephemera.rules.FileSelector}: walks the filesystem and returns a {@link
 *       dev.ephemera.rules.Selection} (regular files, kept symlinks, the set root, warnings,
 *       errors), filtered by a {@link dev.ephemera.rules.SecretsFilter}.
 * </ul>
 *
 * <p>This package depends on no other Ephemera package.
 */
package dev.ephemera.rules;
