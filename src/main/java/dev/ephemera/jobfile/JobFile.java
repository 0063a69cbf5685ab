package dev.ephemera.jobfile;

import dev.ephemera.rules.OutputRule;
import dev.ephemera.rules.RuleSyntaxException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.tomlj.Toml;
import org.tomlj.TomlArray;
import org.tomlj.TomlParseError;
import org.tomlj.TomlParseResult;
import org.tomlj.TomlTable;

/**
 * A buildomat job file ({@code .github/buildomat/jobs/*.sh}) with its TOML front matter parsed the
 * way buildomat parses it, plus Ephemera's one new key, {@code [[persist]]}.
 *
 * <h2>Front matter</h2>
 *
 * The first line must start with {@code #!}. The lines after it that start with {@code #} form
 * the block, which ends at the first line that does not (so a blank line ends it); of those, only
 * lines starting with {@code #:} are kept, that prefix stripped, and the result is TOML.
 *
 * <h2>Keys</h2>
 *
 * Global: {@code name} (required), {@code variety} (required, only {@code "basic"}), {@code enable}
 * (default true; {@code enabled}, {@code disable} and {@code disabled} are rejected), {@code
 * dependencies} ({@code [dependencies.NAME]} with {@code job} and pass-through keys). Basic
 * variety, with unknown keys rejected: {@code output_rules}, {@code rust_toolchain}, {@code
 * target}, {@code access_repos}, {@code publish}, {@code skip_clone}, and {@code persist}.
 *
 * <p>As in buildomat, a file with {@code enable = false} is returned without looking at its
 * variety keys (buildomat never reads them): {@link #enable()} is false and those fields are
 * empty.
 *
 * @param name the job name (also the GitHub check run name)
 * @param variety always {@code "basic"}
 * @param enable false for a disabled job file
 * @param dependencies by dependency name
 * @param outputRules {@code output_rules}, parsed
 * @param rustToolchain {@code rust_toolchain}; empty when absent or {@code false}
 * @param target {@code target}, {@code "default"} when absent
 * @param accessRepos {@code access_repos}
 * @param publish {@code [[publish]]}
 * @param skipClone {@code skip_clone}
 * @param persist {@code [[persist]]}: the sets this job declares
 */
public record JobFile(
    String name,
    String variety,
    boolean enable,
    Map<String, Dependency> dependencies,
    List<OutputRule> outputRules,
    Optional<RustToolchain> rustToolchain,
    String target,
    List<String> accessRepos,
    List<Publish> publish,
    boolean skipClone,
    List<PersistSpec> persist) {

  private static final List<String> BASIC_FIELDS =
      List.of(
          "output_rules",
          "rust_toolchain",
          "target",
          "access_repos",
          "publish",
          "skip_clone",
          "persist");
  private static final List<String> GLOBAL_FIELDS =
      List.of("name", "variety", "enable", "dependencies");
  private static final List<String> PUBLISH_FIELDS = List.of("from_output", "series", "name");
  private static final List<String> PERSIST_FIELDS =
      List.of("name", "rules", "when", "allow_secrets");

  public JobFile {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(variety, "variety");
    dependencies = Collections.unmodifiableMap(new LinkedHashMap<>(dependencies));
    outputRules = List.copyOf(outputRules);
    Objects.requireNonNull(rustToolchain, "rustToolchain");
    Objects.requireNonNull(target, "target");
    accessRepos = List.copyOf(accessRepos);
    publish = List.copyOf(publish);
    persist = List.copyOf(persist);
    PersistSpec.requireUniqueNames(persist);
  }

  /**
   * Parses a job file.
   *
   * @param name the file's name or path, used in messages (e.g. {@code
   *     .github/buildomat/jobs/build.sh})
   * @param text the whole file
   * @throws JobFileException with buildomat's message if buildomat (with {@code persist}) would
   *     reject it
   */
  public static JobFile parse(String name, String text) {
    List<String> lines = rustLines(text);
    if (!lines.isEmpty() && !lines.get(0).startsWith("#!")) {
      throw new JobFileException(debugString(name) + " must have an interpreter line");
    }
    List<String> kept = new ArrayList<>();
    for (int i = 1; i < lines.size(); i++) {
      String line = lines.get(i);
      if (!line.startsWith("#")) {
        break;
      }
      if (line.startsWith("#:")) {
        String body = line;
        while (body.startsWith("#:")) {
          body = body.substring(2); // Rust's trim_start_matches strips every leading "#:"
        }
        kept.add(body);
      }
    }
    return new Parser(name).frontMatter(String.join("\n", kept));
  }

  /** Rust's {@code str::lines}: split on \n, drop one \r before it, no empty last line. */
  private static List<String> rustLines(String text) {
    List<String> lines = new ArrayList<>(List.of(text.split("\n", -1)));
    if (lines.get(lines.size() - 1).isEmpty()) {
      lines.remove(lines.size() - 1);
    }
    lines.replaceAll(l -> l.endsWith("\r") ? l.substring(0, l.length() - 1) : l);
    return lines;
  }

  /** A string as Rust's {@code {:?}} prints it. */
  static String debugString(String s) {
    StringBuilder out = new StringBuilder("\"");
    s.codePoints()
        .forEach(
            c -> {
              switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case 0 -> out.append("\\0");
                default -> {
                  if (Character.isISOControl(c)) {
                    out.append("\\u{").append(Integer.toHexString(c)).append('}');
                  } else {
                    out.appendCodePoint(c);
                  }
                }
              }
            });
    return out.append('"').toString();
  }

  /** Deserialisation with serde's messages, all prefixed with where the front matter came from. */
  private static final class Parser {
    private final String prefix;

    Parser(String fileName) {
      this.prefix = "TOML front matter in " + debugString(fileName) + ": ";
    }

    JobFile frontMatter(String toml) {
      TomlParseResult doc = Toml.parse(toml);
      if (doc.hasErrors()) {
        TomlParseError first = doc.errors().get(0);
        throw fail(first.toString());
      }
      String name = requireString(doc, "name");
      String variety = requireString(doc, "variety");
      if (!variety.equals("basic")) {
        throw fail("unknown variant `" + variety + "`, expected `basic`");
      }
      boolean enable = optionalBoolean(doc, "enable", true);
      Map<String, Dependency> dependencies = dependencies(doc);
      if (!enable) {
        return new JobFile(
            name,
            variety,
            false,
            dependencies,
            List.of(),
            Optional.empty(),
            "default",
            List.of(),
            List.of(),
            false,
            List.of());
      }
      for (String misspelt : List.of("enabled", "disable", "disabled")) {
        if (doc.contains(List.of(misspelt))) {
          // buildomat's own hint, checked before the variety sees (and rejects) the key
          throw fail("use \"enable\" to disable a job");
        }
      }
      for (String key : doc.keySet()) {
        if (!GLOBAL_FIELDS.contains(key) && !BASIC_FIELDS.contains(key)) {
          throw fail(unknownField(key, BASIC_FIELDS));
        }
      }
      List<OutputRule> outputRules = new ArrayList<>();
      List<String> ruleTexts = optionalStrings(doc, "output_rules");
      for (String text : ruleTexts) {
        outputRules.add(rule(text, "output_rules"));
      }
      Optional<RustToolchain> toolchain = rustToolchain(doc.get(List.of("rust_toolchain")));
      String target = optionalString(doc, "target", "default");
      List<String> accessRepos = optionalStrings(doc, "access_repos");
      List<Publish> publish = new ArrayList<>();
      for (TomlTable t : tables(doc, "publish")) {
        rejectUnknown(t, PUBLISH_FIELDS);
        publish.add(
            new Publish(
                requireString(t, "from_output"), requireString(t, "series"), requireString(t, "name")));
      }
      boolean skipClone = optionalBoolean(doc, "skip_clone", false);
      List<PersistSpec> persist = new ArrayList<>();
      for (TomlTable t : tables(doc, "persist")) {
        persist.add(persistSpec(t));
      }
      try {
        return new JobFile(
            name,
            variety,
            true,
            dependencies,
            outputRules,
            toolchain,
            target,
            accessRepos,
            publish,
            skipClone,
            persist);
      } catch (IllegalArgumentException e) {
        throw fail(e.getMessage());
      }
    }

    private PersistSpec persistSpec(TomlTable t) {
      rejectUnknown(t, PERSIST_FIELDS);
      String name = requireString(t, "name");
      if (!PersistSpec.isValidName(name)) {
        throw fail(
            "persist name "
                + debugString(name)
                + " must be 1 to "
                + PersistSpec.MAX_NAME_LENGTH
                + " characters of [A-Za-z0-9._-]");
      }
      if (!t.contains(List.of("rules"))) {
        throw fail("missing field `rules`");
      }
      List<String> texts = optionalStrings(t, "rules");
      List<OutputRule> rules = new ArrayList<>();
      for (String text : texts) {
        rules.add(rule(text, "persist set " + debugString(name)));
      }
      String when = optionalString(t, "when", "success");
      PersistSpec.When w =
          switch (when) {
            case "success" -> PersistSpec.When.SUCCESS;
            case "always" -> PersistSpec.When.ALWAYS;
            default -> throw fail("unknown variant `" + when + "`, expected `success` or `always`");
          };
      boolean allowSecrets = optionalBoolean(t, "allow_secrets", false);
      try {
        return new PersistSpec(name, rules, w, allowSecrets);
      } catch (IllegalArgumentException e) {
        throw fail(e.getMessage());
      }
    }

    private OutputRule rule(String text, String where) {
      try {
        return OutputRule.parse(text);
      } catch (RuleSyntaxException e) {
        throw fail(where + ": invalid output rule " + debugString(text) + ": " + e.getMessage());
      }
    }

    private Map<String, Dependency> dependencies(TomlTable doc) {
      Object value = doc.get(List.of("dependencies"));
      Map<String, Dependency> out = new LinkedHashMap<>();
      if (value == null) {
        return out;
      }
      if (!(value instanceof TomlTable table)) {
        throw fail(invalidType(value, "a map", "dependencies"));
      }
      for (String depName : table.keySet()) {
        Object dep = table.get(List.of(depName));
        if (!(dep instanceof TomlTable depTable)) {
          throw fail(invalidType(dep, "struct FrontMatterDepend", "dependencies." + depName));
        }
        String job = requireString(depTable, "job");
        Map<String, Object> extra = new LinkedHashMap<>();
        for (String key : depTable.keySet()) {
          if (!key.equals("job")) {
            extra.put(key, plain(depTable.get(List.of(key))));
          }
        }
        out.put(depName, new Dependency(job, extra));
      }
      return out;
    }

    private Optional<RustToolchain> rustToolchain(Object value) {
      if (value == null || Boolean.FALSE.equals(value)) {
        return Optional.empty();
      }
      if (Boolean.TRUE.equals(value)) {
        return Optional.of(new RustToolchain.FromRepository());
      }
      if (value instanceof String s) {
        return Optional.of(new RustToolchain.Channel(s));
      }
      throw fail("data did not match any variant of untagged enum StringOrBool for key `rust_toolchain`");
    }

    private List<TomlTable> tables(TomlTable doc, String key) {
      Object value = doc.get(List.of(key));
      if (value == null) {
        return List.of();
      }
      if (!(value instanceof TomlArray array)) {
        throw fail(invalidType(value, "a sequence", key));
      }
      List<TomlTable> out = new ArrayList<>();
      for (int i = 0; i < array.size(); i++) {
        Object element = array.get(i);
        if (!(element instanceof TomlTable t)) {
          throw fail(invalidType(element, "a table", key));
        }
        out.add(t);
      }
      return out;
    }

    private void rejectUnknown(TomlTable table, List<String> fields) {
      for (String key : table.keySet()) {
        if (!fields.contains(key)) {
          throw fail(unknownField(key, fields));
        }
      }
    }

    private String requireString(TomlTable table, String key) {
      Object value = table.get(List.of(key));
      if (value == null) {
        throw fail("missing field `" + key + "`");
      }
      if (!(value instanceof String s)) {
        throw fail(invalidType(value, "a string", key));
      }
      return s;
    }

    private String optionalString(TomlTable table, String key, String fallback) {
      Object value = table.get(List.of(key));
      if (value == null) {
        return fallback;
      }
      if (!(value instanceof String s)) {
        throw fail(invalidType(value, "a string", key));
      }
      return s;
    }

    private boolean optionalBoolean(TomlTable table, String key, boolean fallback) {
      Object value = table.get(List.of(key));
      if (value == null) {
        return fallback;
      }
      if (!(value instanceof Boolean b)) {
        throw fail(invalidType(value, "a boolean", key));
      }
      return b;
    }

    private List<String> optionalStrings(TomlTable table, String key) {
      Object value = table.get(List.of(key));
      if (value == null) {
        return List.of();
      }
      if (!(value instanceof TomlArray array)) {
        throw fail(invalidType(value, "a sequence", key));
      }
      List<String> out = new ArrayList<>();
      for (int i = 0; i < array.size(); i++) {
        Object element = array.get(i);
        if (!(element instanceof String s)) {
          throw fail(invalidType(element, "a string", key));
        }
        out.add(s);
      }
      return out;
    }

    private JobFileException fail(String message) {
      return new JobFileException(prefix + message);
    }

    /** serde's "unknown field" message. */
    private static String unknownField(String key, List<String> expected) {
      StringBuilder out = new StringBuilder("unknown field `").append(key).append("`, ");
      if (expected.isEmpty()) {
        return out.append("there are no fields").toString();
      }
      if (expected.size() == 1) {
        return out.append("expected `").append(expected.get(0)).append('`').toString();
      }
      if (expected.size() == 2) {
        return out.append("expected `")
            .append(expected.get(0))
            .append("` or `")
            .append(expected.get(1))
            .append('`')
            .toString();
      }
      out.append("expected one of ");
      for (int i = 0; i < expected.size(); i++) {
        out.append(i == 0 ? "" : ", ").append('`').append(expected.get(i)).append('`');
      }
      return out.toString();
    }

    /** serde's "invalid type" message, with the key as the toml crate names it. */
    private static String invalidType(Object value, String expected, String key) {
      return "invalid type: " + describe(value) + ", expected " + expected + " for key `" + key + "`";
    }

    private static String describe(Object value) {
      if (value instanceof String s) {
        return "string " + debugString(s);
      }
      if (value instanceof Long l) {
        return "integer `" + l + "`";
      }
      if (value instanceof Double d) {
        return "floating point `" + d + "`";
      }
      if (value instanceof Boolean b) {
        return "boolean `" + b + "`";
      }
      if (value instanceof TomlArray) {
        return "sequence";
      }
      if (value instanceof TomlTable) {
        return "map";
      }
      return "datetime";
    }

    /** TOML values as plain Java values, for pass-through keys. */
    private static Object plain(Object value) {
      if (value instanceof TomlTable t) {
        Map<String, Object> out = new LinkedHashMap<>();
        Set<String> keys = t.keySet();
        for (String k : keys) {
          out.put(k, plain(t.get(List.of(k))));
        }
        return Collections.unmodifiableMap(out);
      }
      if (value instanceof TomlArray a) {
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < a.size(); i++) {
          out.add(plain(a.get(i)));
        }
        return Collections.unmodifiableList(out);
      }
      return value;
    }
  }
}
