package dev.ephemera.event;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.HashSet;
import java.util.List;

/**
 * One {@code [[persist]]} entry of a job file's front matter (DESIGN.md §6): a set name, the
 * {@code output_rules}-style rules that select its files, and when to keep it.
 *
 * @param when {@link When#SUCCESS} when absent
 */
public record DeclaredSet(String name, List<String> rules, When when) {

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
  }

  /** A set kept only when its job succeeds. */
  public DeclaredSet(String name, List<String> rules) {
    this(name, rules, When.SUCCESS);
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
