package dev.ephemera.jobfile;

import java.util.Objects;

/**
 * A {@code [[publish]]} entry: an output to publish under a public URL.
 *
 * @param fromOutput the output path, matched exactly
 * @param series the series name
 * @param name the published file name
 */
public record Publish(String fromOutput, String series, String name) {
  public Publish {
    Objects.requireNonNull(fromOutput, "fromOutput");
    Objects.requireNonNull(series, "series");
    Objects.requireNonNull(name, "name");
  }
}
