package dev.ephemera.cli;

import dev.ephemera.archive.Limits;
import dev.ephemera.config.Settings;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * What an archive a restore or unpack takes may hold; beyond it the archive is refused before anything is written.
 * The worker refuses a persist beyond its own limits ({@code archive.*} settings): set both alike.
 */
public final class LimitOptions {
  @Spec(Spec.Target.MIXEE)
  CommandSpec spec;

  @Option(
      names = "--max-entries",
      paramLabel = "N",
      description = "Most tar entries (files, directories, links) taken (default: $EPHEMERA_MAX_ENTRIES, else 1000000).")
  String maxEntries;

  @Option(
      names = "--max-bytes",
      paramLabel = "SIZE",
      description = "Most bytes of file content taken, e.g. 64GiB (default: $EPHEMERA_MAX_BYTES, else 64GiB).")
  String maxBytes;

  @Option(
      names = "--max-ratio",
      paramLabel = "N",
      description = "Most uncompressed bytes per compressed byte (default: $EPHEMERA_MAX_RATIO, else 1000).")
  String maxRatio;

  /** The limits given, each defaulting to {@link Limits#DEFAULTS}'s. */
  Limits limits() {
    Limits d = Limits.DEFAULTS;
    return new Limits(
        positive("--max-entries", maxEntries, d.maxEntries()),
        maxBytes == null ? d.maxTotalBytes() : size(maxBytes),
        positive("--max-ratio", maxRatio, d.maxCompressionRatio()));
  }

  private long positive(String name, String value, long otherwise) {
    if (value == null) {
      return otherwise;
    }
    try {
      long n = Long.parseLong(value.trim());
      if (n > 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // said below
    }
    throw new ParameterException(spec.commandLine(), name + " must be a positive number, got " + value);
  }

  private long size(String value) {
    try {
      return Settings.parseSize(value);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--max-bytes: " + e.getMessage());
    }
  }
}
