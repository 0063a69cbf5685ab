package dev.ephemera.event;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.HashSet;
import java.util.List;

/**
 * One {@code [[persist]]} entry of a job file's front matter (DESIGN.md §6): a set name, the
 * {@code output_rules}-style rules that select its files, when to keep it, and whether it may keep files on the
 * secrets deny-list.
 *
 * @param when {@link When#SUCCESS} when absent
 * @param allowSecrets {@code allow_secrets = true} in the entry: this set keeps files on the secrets deny-list
 *     ({@code .netrc}, ssh keys, ...), which every other set skips; false when absent (never null)
 */
public record DeclaredSet(
    String name,
    List<String> rules,
    When when,
    // written only when true: the field is optional in the schema, and an event read and written again is unchanged
    @JsonInclude(JsonInclude.Include.NON_DEFAULT) Boolean allowSecrets) {

  /** When a captured set becomes live. */
  public enum When {
    /** Only when the job completes with {@code success} (the default). */
    @JsonProperty("success")
    SUCCESS,
    /** Whatever the job's result. */
    @JsonProperty("always")
    ALWAYS
  }

  public DeclaredSet {
    Check.setName(name, "name");
    rules = Check.list(rules, "rules");
    if (rules.isEmpty()) {
      throw new IllegalArgumentException("rules: at least one rule is required");
    }
    for (int i = 0; i < rules.size(); i++) {
      Check.matches(rules.get(i), Check.RULE, "rules[" + i + "]",
          "a rule (optional sigils !, =, % then an absolute path)");
    }
    when = when == null ? When.SUCCESS : when;
    allowSecrets = Boolean.TRUE.equals(allowSecrets);
  }

  /** A set kept only when its job succeeds. */
  public DeclaredSet(String name, List<String> rules) {
    this(name, rules, When.SUCCESS);
  }

  /** A set that skips files on the secrets deny-list. */
  public DeclaredSet(String name, List<String> rules, When when) {
    this(name, rules, when, false);
  }

  static List<DeclaredSet> uniqueNames(List<DeclaredSet> declared, String field) {
    List<DeclaredSet> copy = Check.list(declared, field);
    var seen = new HashSet<String>();
    for (DeclaredSet set : copy) {
      if (!seen.add(set.name())) {
        throw new IllegalArgumentException(field + ": set \"" + set.name() + "\" is declared twice");
      }
    }
    return copy;
  }
}
