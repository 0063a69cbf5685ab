package dev.ephemera.rules;

import java.nio.file.Path;

/**
 * A file the rules selected but the {@link SecretsFilter} kept out of the set.
 *
 * @param path where it is on the filesystem
 * @param secret the deny-list entry it matched, e.g. {@code .netrc}
 */
public record SkippedSecret(Path path, String secret) {}
