package dev.ephemera.rules;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A deny-list of files that hold credentials and must not end up in a persisted set by accident.
 *
 * <p>A job's home directory is a tempting thing to persist, and it is exactly where buildomat's
 * {@code authentication} task writes {@code ~/.netrc} with the job's GitHub token. A set is
 * readable by later jobs (and its download link may sit in a check run), so a matching file is
 * skipped and reported, unless the set opts in ({@code allow_secrets = true}, i.e. {@link #NONE}).
 *
 * <p>The {@link #DEFAULT} list matches by the last one or two path components, wherever they are:
 * {@code .netrc}, {@code .git-credentials}, {@code .pgpass}, {@code .docker/config.json}, {@code
 * .cargo/credentials}, {@code .cargo/credentials.toml}, {@code .aws/credentials}, and SSH private
 * keys {@code .ssh/id_*} (but not the public {@code .ssh/id_*.pub}).
 *
 * @param rules what is denied; empty allows everything
 */
public record SecretsFilter(List<Rule> rules) {

  /** The default deny-list. */
  public static final SecretsFilter DEFAULT =
      new SecretsFilter(
          List.of(
              Rule.named(".netrc"),
              Rule.named(".git-credentials"),
              Rule.named(".pgpass"),
              Rule.inDirectory(".docker", "config.json"),
              Rule.inDirectory(".cargo", "credentials"),
              Rule.inDirectory(".cargo", "credentials.toml"),
              Rule.inDirectory(".aws", "credentials"),
              new Rule(".ssh/id_* (SSH private key)", ".ssh", "id_", true, ".pub")));

  /** Allows everything: what a set with {@code allow_secrets = true} uses. */
  public static final SecretsFilter NONE = new SecretsFilter(List.of());

  public SecretsFilter {
    rules = List.copyOf(rules);
  }

  /** {@link #NONE} if the set allows secrets, otherwise {@link #DEFAULT}. */
  public static SecretsFilter forSet(boolean allowSecrets) {
    return allowSecrets ? NONE : DEFAULT;
  }

  /** The label of the first rule {@code path} matches, if any. */
  public Optional<String> match(Path path) {
    Path fileName = path.getFileName();
    if (fileName == null) {
      return Optional.empty();
    }
    String name = fileName.toString();
    Path parent = path.getParent();
    Path parentName = parent == null ? null : parent.getFileName();
    String directory = parentName == null ? null : parentName.toString();
    for (Rule rule : rules) {
      if (rule.matches(directory, name)) {
        return Optional.of(rule.label());
      }
    }
    return Optional.empty();
  }

  /**
   * One denied kind of file.
   *
   * @param label how reports name it, e.g. {@code .docker/config.json}
   * @param directory the name of the directory it must be directly in, or null for anywhere
   * @param name the file name, or its prefix if {@code namePrefix}
   * @param namePrefix whether {@code name} is a prefix
   * @param exceptSuffix a file name ending in this is not denied (null for none)
   */
  public record Rule(
      String label, String directory, String name, boolean namePrefix, String exceptSuffix) {

    public Rule {
      if (label == null || name == null || name.isEmpty()) {
        throw new IllegalArgumentException("a secrets rule needs a label and a name");
      }
    }

    /** A file with this exact name, in any directory. */
    public static Rule named(String name) {
      return new Rule(name, null, name, false, null);
    }

    /** A file with this exact name directly inside a directory with this name. */
    public static Rule inDirectory(String directory, String name) {
      return new Rule(directory + "/" + name, directory, name, false, null);
    }

    boolean matches(String parentName, String fileName) {
      if (directory != null && !directory.equals(parentName)) {
        return false;
      }
      boolean nameMatches = namePrefix ? fileName.startsWith(name) : fileName.equals(name);
      return nameMatches && (exceptSuffix == null || !fileName.endsWith(exceptSuffix));
    }
  }
}
