package dev.ephemera.jobfile;

import dev.ephemera.rules.OutputRule;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One declared set: a {@code [[persist]]} entry in a job file's front matter.
 *
 * <pre>
 * #: [[persist]]
 * #: name = "cargo-registry"
 * #: rules = ["/home/build/.cargo/registry/**&#47;*", "!/home/build/.cargo/registry/src/*"]
 * #: when = "success"          # default; or "always"
 * #: allow_secrets = false     # default
 * </pre>
 *
 * @param name the set name: {@code [A-Za-z0-9._-]+}, at most 64 characters
 * @param rules output rules, at least one of them an include rule
 * @param when when the captured set becomes live
 * @param allowSecrets whether files on the secrets deny-list may be persisted
 */
public record PersistSpec(String name, List<OutputRule> rules, When when, boolean allowSecrets) {

  /** Longest set name. */
  public static final int MAX_NAME_LENGTH = 64;

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]+");

  public PersistSpec {
    if (!isValidName(name)) {
      throw new IllegalArgumentException(
          "persist name "
              + (name == null ? "null" : '"' + name + '"')
              + " must be 1 to "
              + MAX_NAME_LENGTH
              + " characters of [A-Za-z0-9._-]");
    }
    rules = List.copyOf(rules);
    if (rules.isEmpty()) {
      throw new IllegalArgumentException("persist set \"" + name + "\" has no rules");
    }
    if (rules.stream().allMatch(OutputRule::exclude)) {
      throw new IllegalArgumentException(
          "persist set \"" + name + "\" has only exclude (!) rules, so it selects nothing");
    }
    Objects.requireNonNull(when, "when");
  }

  /** Whether {@code name} is a valid set name. */
  public static boolean isValidName(String name) {
    return name != null
        && name.length() <= MAX_NAME_LENGTH
        && NAME.matcher(name).matches()
        // "." and ".." would be awkward as object-store path segments
        && !name.equals(".")
        && !name.equals("..");
  }

  /** Checks that names are unique within one job file. */
  static void requireUniqueNames(List<PersistSpec> specs) {
    var seen = new HashSet<String>();
    for (PersistSpec spec : specs) {
      if (!seen.add(spec.name())) {
        throw new IllegalArgumentException(
            "persist set name \"" + spec.name() + "\" is used more than once");
      }
    }
  }

  /** When a captured set becomes live. */
  public enum When {
    /** Only if the job succeeds (the default). */
    SUCCESS,
    /** Also when the job does not succeed (the policy decides which results count). */
    ALWAYS;

    /** The TOML spelling: {@code success} or {@code always}. */
    public String tomlName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }
}
