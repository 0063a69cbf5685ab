package dev.ephemera.jobfile;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A {@code [dependencies.NAME]} entry.
 *
 * @param job the name of the job depended on
 * @param extra any other keys, passed through as buildomat does (TOML values as String, Long,
 *     Double, Boolean, java.time values, List and Map)
 */
public record Dependency(String job, Map<String, Object> extra) {
  public Dependency {
    Objects.requireNonNull(job, "job");
    extra = Collections.unmodifiableMap(new LinkedHashMap<>(extra));
  }
}
