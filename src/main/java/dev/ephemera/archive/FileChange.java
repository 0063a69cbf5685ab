package dev.ephemera.archive;

import java.util.HashMap;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A file that changed or vanished while the writer read it. The tar stream stays consistent
 * anyway: the entry holds exactly the size its header announces (zero-padded or cut short).
 *
 * @param path relative path of the entry
 * @param kind what happened
 * @param detail human-readable specifics
 */
public record FileChange(String path, Kind kind, String detail) {

  /** What happened to the file. */
  public enum Kind {
    /** Gone before it could be read: the entry was left out. */
    VANISHED,
    /** Size, mtime or identity changed while it was read: the entry holds what was read. */
    CHANGED
  }

  public FileChange {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(detail, "detail");
  }

  /** One-line description used as a manifest warning. */
  public String describe() {
    return path + ": " + (kind == Kind.VANISHED ? "vanished" : "changed") + " while being read (" + detail + ")";
  }

  /**
   * Decides, for each change (it names its path), whether it is tolerated (the persist goes on with
   * a warning) or fatal (the writer throws {@link FileChangedException}). Output rules with the
   * {@code %} sigil tolerate: see {@link #perPath}.
   */
  @FunctionalInterface
  public interface Policy {
    /** Every change is fatal. */
    Policy FAIL = change -> false;
    /** Every change becomes a warning. */
    Policy WARN = change -> true;

    boolean tolerate(FileChange change);

    /**
     * A policy per selected path: {@code tolerant} maps each selected relative path to whether a
     * change of it is tolerated (its {@code %} rule). A directory the writer added as a parent
     * (which vanished or stopped being a directory, taking what is below it along) is tolerated only
     * when every selected path below it is; a path the map does not know is not tolerated.
     */
    static Policy perPath(Map<String, Boolean> tolerant) {
      Map<String, Boolean> own = new HashMap<>(tolerant);
      // Sorted only when a path the map does not know changes (a parent directory): rare, so not up front.
      // Natural String order: every "dir/..." key sorts between "dir/" and "dir0" ('0' follows '/').
      AtomicReference<NavigableMap<String, Boolean>> sorted = new AtomicReference<>();
      return change -> {
        Boolean known = own.get(change.path());
        if (known != null) {
          return known;
        }
        NavigableMap<String, Boolean> paths = sorted.updateAndGet(m -> m != null ? m : new TreeMap<>(own));
        Map<String, Boolean> below = paths.subMap(change.path() + "/", true, change.path() + "0", false);
        return !below.isEmpty() && !below.containsValue(false);
      };
    }
  }
}
