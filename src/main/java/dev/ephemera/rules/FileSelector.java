package dev.ephemera.rules;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Selects the files a set's output rules name, the way buildomat's agent selects job outputs.
 *
 * <h2>What is selected</h2>
 *
 * <ul>
 *   <li>Each include rule is expanded component by component like {@code glob::glob}: {@code *},
 *       {@code ?}, {@code [..]}, {@code [!..]} stay inside one component and match names starting
 *       with a dot; {@code **} is a whole component matching zero or more directories; a
 *       component without metacharacters is looked up directly (so {@code .} and {@code ..} work,
 *       and a pattern with a trailing {@code /} matches directories only). Matching is
 *       case-sensitive. Directory symlinks are followed, as the crate does.
 *   <li>A path whose whole text matches any exclude ({@code !}) rule is dropped; there {@code *}
 *       crosses {@code /}, so {@code !/tmp/*.jpg} also drops {@code /tmp/a/b.jpg}.
 *   <li>Only regular files are selected, each once however many rules reach it; the first rule
 *       (in the order given) that reaches it is the one recorded. A file is {@code %}
 *       (size-change-ok) if any {@code %} rule's whole-path pattern matches it, and a {@code =}
 *       rule is satisfied if its whole-path pattern matches any selected entry; both are
 *       buildomat's own tests.
 *   <li>Unlike buildomat's uploads, a symlink whose target resolves inside the set {@linkplain
 *       #logicalRoot root} is kept as a {@link SelectedSymlink} and not descended into; whatever
 *       the rules reached through such a kept link is left out (it is restored through the link).
 *       A symlink to a regular file outside the root is selected as that file's content ({@link
 *       SelectedFile#viaSymlink()}), as buildomat would; other symlinks (dangling, or to
 *       directories outside the root) are not selected.
 *   <li>Files on the {@link SecretsFilter} deny-list are skipped and reported in {@link
 *       Selection#skippedSecrets()}.
 * </ul>
 *
 * <p>Deliberate differences from the crate, all for safety: a directory that is already being
 * walked by a {@code **} is not entered again through a symlink (the crate loops forever on a
 * symlink cycle), nor is a symlink to an ancestor of the directory being walked; paths are normalised lexically ({@code /a/../b} becomes {@code /b}), and an
 * entry that ends up outside the root is dropped with a warning; an unreadable directory is a
 * warning and the walk goes on.
 *
 * <h2>Filesystem root override</h2>
 *
 * Rules are absolute paths. By default they name the real filesystem ({@code /}). A selector made
 * with {@link #underRoot(Path)} evaluates every absolute pattern relative to the given directory
 * instead: with root {@code /tmp/t}, the rule {@code /src/**}{@code /*} walks {@code /tmp/t/src}.
 * Patterns (exclude rules included) still see the "logical" path {@code /src/...}, so a rule means
 * the same thing in a test as in a job; the paths in the {@link Selection} are real filesystem
 * paths ({@code /tmp/t/src/...}).
 *
 * <p>Instances are immutable and thread-safe; {@link #select} does the I/O.
 */
public final class FileSelector {
  private final Path filesystemRoot;
  private final SecretsFilter secrets;

  /** A selector over the real filesystem with the {@link SecretsFilter#DEFAULT} deny-list. */
  public FileSelector() {
    this(Path.of("/"), SecretsFilter.DEFAULT);
  }

  /**
   * A selector that evaluates absolute patterns under {@code filesystemRoot}.
   *
   * @param filesystemRoot the directory that stands for {@code /}
   * @param secrets the deny-list ({@link SecretsFilter#NONE} to allow secrets)
   */
  public FileSelector(Path filesystemRoot, SecretsFilter secrets) {
    this.filesystemRoot = filesystemRoot.toAbsolutePath().normalize();
    this.secrets = Objects.requireNonNull(secrets, "secrets");
  }

  /** A selector that evaluates absolute patterns under {@code directory} (for tests). */
  public static FileSelector underRoot(Path directory) {
    return new FileSelector(directory, SecretsFilter.DEFAULT);
  }

  /** The same selector with another deny-list. */
  public FileSelector withSecrets(SecretsFilter filter) {
    return new FileSelector(filesystemRoot, filter);
  }

  /** The same selector with the deny-list a set's {@code allow_secrets} calls for. */
  public FileSelector allowingSecrets(boolean allowSecrets) {
    return withSecrets(SecretsFilter.forSet(allowSecrets));
  }

  /** The directory that stands for {@code /}. */
  public Path filesystemRoot() {
    return filesystemRoot;
  }

  /** The filesystem path of an absolute "logical" path such as {@code /home/build}. */
  public Path toFilesystem(String logicalPath) {
    if (!logicalPath.startsWith("/")) {
      throw new IllegalArgumentException("not an absolute path: " + logicalPath);
    }
    return logicalPath.length() == 1
        ? filesystemRoot
        : filesystemRoot.resolve(logicalPath.substring(1));
  }

  /**
   * The set root of some rules, as an absolute logical path: the longest common directory prefix
   * of the include rules' literal parts ({@code /home/build/.cargo/registry} for {@code
   * /home/build/.cargo/registry/**}{@code /*}); {@code /} if there is no include rule.
   */
  public static String logicalRoot(List<OutputRule> rules) {
    List<String> common = null;
    for (OutputRule rule : rules) {
      if (rule.exclude()) {
        continue;
      }
      String directory = PathGlob.compile(rule.pattern()).literalDirectory();
      List<String> parts =
          directory.equals("/") ? List.of() : List.of(directory.substring(1).split("/"));
      if (common == null) {
        common = new ArrayList<>(parts);
      } else {
        int n = 0;
        while (n < common.size() && n < parts.size() && common.get(n).equals(parts.get(n))) {
          n++;
        }
        common.subList(n, common.size()).clear();
      }
    }
    return common == null ? "/" : "/" + String.join("/", common);
  }

  /**
   * Rules for {@code ephemera persist NAME PATH...}: each PATH made absolute and resolved (symlinks
   * included, if it exists), then {@code PATH/**}{@code /*} for a directory or {@code PATH} for
   * anything else, glob metacharacters escaped; plus the root those rules share.
   *
   * @throws IllegalArgumentException if there is no path, or one lies outside the filesystem root
   * @throws IOException if a path exists but cannot be resolved
   */
  public PathRules rulesForPaths(List<Path> paths) throws IOException {
    if (paths.isEmpty()) {
      throw new IllegalArgumentException("persist needs at least one path");
    }
    Path base = realOrNormal(filesystemRoot);
    List<OutputRule> rules = new ArrayList<>();
    for (Path given : paths) {
      Path absolute = given.toAbsolutePath().normalize();
      Path resolved = Files.exists(absolute) ? absolute.toRealPath() : absolute;
      if (!resolved.startsWith(base)) {
        throw new IllegalArgumentException(
            "path " + given + " is outside the filesystem root " + filesystemRoot);
      }
      String relative = base.relativize(resolved).toString();
      String logical = "/" + relative;
      String escaped = GlobPattern.escape(logical);
      String pattern;
      if (Files.isDirectory(resolved)) {
        pattern = relative.isEmpty() ? "/**/*" : escaped + "/**/*";
      } else {
        pattern = escaped;
      }
      rules.add(OutputRule.include(pattern));
    }
    return new PathRules(rules, toFilesystem(logicalRoot(rules)));
  }

  /**
   * Walks the filesystem and selects what {@code rules} name, with this selector's deny-list.
   * Never throws for filesystem trouble: that becomes a warning.
   */
  public Selection select(List<OutputRule> rules) {
    return new Run(rules).run();
  }

  private static Path realOrNormal(Path path) {
    try {
      return path.toRealPath();
    } catch (IOException e) {
      return path.toAbsolutePath().normalize();
    }
  }

  /** What the walk found at one (normalised) path, before the post-walk checks. */
  private record Found(
      String rawLogical, Path path, OutputRule rule, Path linkTarget, boolean viaSymlink) {}

  /** One call of {@link #select}: mutable state kept off the selector. */
  private final class Run {
    private final List<OutputRule> rules;
    private final List<GlobPattern> excludes = new ArrayList<>();
    private final String rootLogical;
    private final Path realRoot;
    private final Map<String, Found> found = new HashMap<>();
    /** Normalised logical paths of the empty directories a {@code **} walk listed, not through a symlink. */
    private final Set<String> emptyDirectories = new TreeSet<>();
    private final List<String> warnings = new ArrayList<>();

    private OutputRule rule;
    private List<GlobPattern> components;
    private int last;

    Run(List<OutputRule> rules) {
      this.rules = List.copyOf(rules);
      for (OutputRule r : this.rules) {
        if (r.exclude()) {
          excludes.add(r.glob());
        }
      }
      this.rootLogical = logicalRoot(this.rules);
      Path rootOnDisk = toFilesystem(rootLogical);
      Path real;
      try {
        real = rootOnDisk.toRealPath();
      } catch (IOException e) {
        real = null; // no root on disk: no symlink can point inside it
      }
      this.realRoot = real;
    }

    Selection run() {
      for (OutputRule r : rules) {
        if (r.exclude()) {
          continue;
        }
        PathGlob glob = PathGlob.compile(r.pattern());
        if (glob.selectsNoFiles()) {
          String suggestion = glob.requireDirectory() ? r + "**/*" : r + "/*";
          warnings.add("rule " + r + " can select nothing; did you mean " + suggestion + "?");
          continue;
        }
        rule = r;
        components = glob.components();
        last = components.size() - 1;
        expand(0, "/", filesystemRoot);
      }
      return finish();
    }

    /** Matches components[idx..] under the path (logical, fs). */
    private void expand(int idx, String logical, Path fs) {
      GlobPattern component = components.get(idx);
      if (component.isRecursiveWildcard()) {
        int j = idx;
        while (j < last && components.get(j + 1).isRecursiveWildcard()) {
          j++; // "**/**" is one "**"
        }
        Optional<Object> key = directoryKey(fs);
        if (key.isEmpty()) {
          return;
        }
        Set<Object> chain = new HashSet<>();
        chain.add(key.get());
        recurse(j, logical, fs, chain, false);
      } else if (!component.hasMetachars()) {
        String name = component.source();
        if (name.isEmpty()) {
          // from "//": the same path, if it is a directory
          if (Files.isDirectory(fs)) {
            step(idx, logical, fs);
          }
        } else if (name.equals(".") || name.equals("..")) {
          if (Files.isDirectory(fs)) {
            step(idx, child(logical, name), fs.resolve(name));
          }
        } else {
          Path next = fs.resolve(name);
          if (Files.exists(next, LinkOption.NOFOLLOW_LINKS)) {
            step(idx, child(logical, name), next);
          }
        }
      } else {
        if (!Files.isDirectory(fs)) {
          return;
        }
        for (Path entry : list(logical, fs)) {
          String name = entry.getFileName().toString();
          if (component.matches(name)) {
            step(idx, child(logical, name), entry);
          }
        }
        if (component.startsWithLiteralDot()) {
          // the crate offers "." and ".." to a pattern that starts with a literal dot
          for (String special : List.of(".", "..")) {
            if (component.matches(special)) {
              step(idx, child(logical, special), fs.resolve(special));
            }
          }
        }
      }
    }

    private void step(int idx, String logical, Path fs) {
      step(idx, logical, fs, null);
    }

    /** own: the entry's lstat attributes if the caller already has them. */
    private void step(int idx, String logical, Path fs, BasicFileAttributes own) {
      if (idx == last) {
        candidate(logical, fs, own);
      } else {
        expand(idx + 1, logical, fs);
      }
    }

    /**
     * The children of directory fs are matched against the component after the {@code **} at j
     * (zero directories), and every child directory is walked the same way (one more directory).
     * chain holds the identities of the directories from where the {@code **} started down to fs,
     * so a symlink back up the tree is not followed again; throughLink: fs was reached through a
     * symlink to a directory (its emptiness is not recorded then).
     */
    private void recurse(int j, String logical, Path fs, Set<Object> chain, boolean throughLink) {
      GlobPattern next = components.get(j + 1);
      List<Path> entries = listing(logical, fs);
      if (entries == null) {
        return;
      }
      if (entries.isEmpty() && !throughLink) {
        emptyDirectories.add(normalize(logical));
      }
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        String entryLogical = child(logical, name);
        BasicFileAttributes own;
        try {
          own = Files.readAttributes(entry, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
          continue; // vanished since the listing
        }
        boolean matchesNext = next.matches(name);
        boolean directory = own.isDirectory();
        Object key = own.fileKey();
        if (own.isSymbolicLink()) {
          try {
            BasicFileAttributes target = Files.readAttributes(entry, BasicFileAttributes.class);
            directory = target.isDirectory();
            key = target.fileKey();
          } catch (IOException e) {
            directory = false; // dangling
          }
          if (directory && matchesNext && j + 1 == last && wouldKeepAsSymlink(entryLogical, entry)) {
            // it will be kept as a link; what lies beneath would be dropped anyway
            directory = false;
          } else if (directory && pointsAtAnAncestor(entry, fs)) {
            // e.g. a link to "/" or to "..": following it would walk everything above the set
            // before the cycle check caught the way back
            directory = false;
          }
        }
        if (directory) {
          Object identity = key != null ? key : realOrNormal(entry);
          if (chain.add(identity)) {
            recurse(j, entryLogical, entry, chain, throughLink || own.isSymbolicLink());
            chain.remove(identity);
          }
        }
        if (matchesNext) {
          step(j + 1, entryLogical, entry, own);
        }
      }
    }

    private boolean pointsAtAnAncestor(Path link, Path directory) {
      try {
        return directory.toRealPath().startsWith(link.toRealPath());
      } catch (IOException e) {
        return false;
      }
    }

    private boolean wouldKeepAsSymlink(String logical, Path fs) {
      return !excluded(logical) && resolvesInsideRoot(fs);
    }

    private boolean resolvesInsideRoot(Path link) {
      if (realRoot == null) {
        return false;
      }
      try {
        return link.toRealPath().startsWith(realRoot);
      } catch (IOException e) {
        return false;
      }
    }

    private boolean excluded(String logical) {
      for (GlobPattern exclude : excludes) {
        if (exclude.matches(logical)) {
          return true;
        }
      }
      return false;
    }

    /** A full match: keep it if it is a regular file or a symlink worth keeping. */
    private void candidate(String logical, Path fs, BasicFileAttributes known) {
      if (excluded(logical)) {
        return;
      }
      String normal = normalize(logical);
      if (found.containsKey(normal)) {
        return;
      }
      BasicFileAttributes own = known;
      if (own == null) {
        try {
          own = Files.readAttributes(fs, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
          return; // vanished
        }
      }
      Path path = toFilesystem(normal);
      if (own.isRegularFile()) {
        found.put(normal, new Found(logical, path, rule, null, false));
      } else if (own.isSymbolicLink()) {
        if (resolvesInsideRoot(fs)) {
          try {
            found.put(normal, new Found(logical, path, rule, Files.readSymbolicLink(fs), false));
          } catch (IOException e) {
            warnings.add("cannot read symlink " + normal + ": " + e);
          }
        } else if (Files.isRegularFile(fs)) {
          found.put(normal, new Found(logical, path, rule, null, true));
        }
      }
    }

    private Selection finish() {
      Set<String> keptLinks = new HashSet<>();
      for (Map.Entry<String, Found> e : found.entrySet()) {
        if (e.getValue().linkTarget() != null) {
          keptLinks.add(e.getKey());
        }
      }
      List<GlobPattern> relaxed = new ArrayList<>();
      for (OutputRule r : rules) {
        if (r.sizeChangeOk()) {
          relaxed.add(r.glob());
        }
      }
      List<Selected> entries = new ArrayList<>();
      List<String> selectedRaw = new ArrayList<>();
      List<SkippedSecret> skipped = new ArrayList<>();
      List<Map.Entry<String, Found>> inOrder = new ArrayList<>(found.entrySet());
      inOrder.sort(Map.Entry.comparingByKey());
      for (Map.Entry<String, Found> e : inOrder) {
        String normal = e.getKey();
        Found f = e.getValue();
        Optional<String> relative = relativeToRoot(normal);
        if (relative.isEmpty()) {
          warnings.add(normal + " lies outside the set root " + rootLogical + "; skipped");
          continue;
        }
        if (underKeptLink(normal, keptLinks)) {
          continue;
        }
        Optional<String> secret = secrets.match(Path.of(normal));
        if (secret.isEmpty() && f.viaSymlink()) {
          secret = secrets.match(realOrNormal(f.path()));
        }
        if (secret.isPresent()) {
          // reported once, in skippedSecrets (not also as a warning line)
          skipped.add(new SkippedSecret(f.path(), secret.get()));
          continue;
        }
        if (f.linkTarget() != null) {
          entries.add(new SelectedSymlink(f.path(), relative.get(), f.linkTarget(), f.rule()));
        } else {
          boolean sizeChangeOk = false;
          for (GlobPattern g : relaxed) {
            if (g.matches(f.rawLogical())) {
              sizeChangeOk = true;
              break;
            }
          }
          entries.add(
              new SelectedFile(f.path(), relative.get(), f.rule(), sizeChangeOk, f.viaSymlink()));
        }
        selectedRaw.add(f.rawLogical());
      }
      List<String> errors = new ArrayList<>();
      for (OutputRule r : rules) {
        if (r.requireMatch()) {
          GlobPattern g = r.glob();
          if (selectedRaw.stream().noneMatch(g::matches)) {
            errors.add("rule \"" + r + "\" required a match, but selected nothing");
          }
        }
      }
      entries.sort((a, b) -> a.relativePath().compareTo(b.relativePath()));
      List<String> empty = new ArrayList<>();
      for (String normal : emptyDirectories) {
        if (!excluded(normal)) {
          relativeToRoot(normal).ifPresent(empty::add);
        }
      }
      return new Selection(toFilesystem(rootLogical), entries, warnings, errors, skipped, empty);
    }

    private Optional<String> relativeToRoot(String normal) {
      if (rootLogical.equals("/")) {
        return normal.length() > 1 ? Optional.of(normal.substring(1)) : Optional.empty();
      }
      if (normal.startsWith(rootLogical) && normal.length() > rootLogical.length() + 1
          && normal.charAt(rootLogical.length()) == '/') {
        return Optional.of(normal.substring(rootLogical.length() + 1));
      }
      return Optional.empty();
    }

    private List<Path> list(String logical, Path directory) {
      List<Path> entries = listing(logical, directory);
      return entries == null ? List.of() : entries;
    }

    /** The directory's entries, or null (and a warning) when it cannot be read. */
    private List<Path> listing(String logical, Path directory) {
      List<Path> entries = new ArrayList<>();
      try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory)) {
        for (Path entry : stream) {
          entries.add(entry);
        }
      } catch (IOException | RuntimeException e) {
        warnings.add("cannot read directory " + logical + ": " + e);
        return null;
      }
      return entries;
    }

    private Optional<Object> directoryKey(Path fs) {
      try {
        BasicFileAttributes attributes = Files.readAttributes(fs, BasicFileAttributes.class);
        if (!attributes.isDirectory()) {
          return Optional.empty();
        }
        Object key = attributes.fileKey();
        return Optional.of(key != null ? key : realOrNormal(fs));
      } catch (IOException e) {
        return Optional.empty();
      }
    }
  }

  private static boolean underKeptLink(String normal, Set<String> keptLinks) {
    if (keptLinks.isEmpty()) {
      return false;
    }
    int slash = normal.lastIndexOf('/');
    while (slash > 0) {
      if (keptLinks.contains(normal.substring(0, slash))) {
        return true;
      }
      slash = normal.lastIndexOf('/', slash - 1);
    }
    return false;
  }

  private static String child(String logical, String name) {
    return logical.equals("/") ? "/" + name : logical + "/" + name;
  }

  /** Lexical normalisation of an absolute path: no "", "." or ".." components. */
  static String normalize(String logical) {
    if (!logical.contains("/.") && !logical.contains("//")) {
      return logical;
    }
    List<String> parts = new ArrayList<>();
    for (String part : logical.split("/")) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        if (!parts.isEmpty()) {
          parts.remove(parts.size() - 1);
        }
        continue;
      }
      parts.add(part);
    }
    return "/" + String.join("/", parts);
  }
}
