package dev.ephemera.archive;

import java.util.Objects;

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
   * Decides whether a change is tolerated (the persist goes on with a warning) or fatal (the
   * writer throws {@link FileChangedException}). Output rules with the {@code %} sigil tolerate.
   */
  @FunctionalInterface
  public interface Policy {
    /** Every change is fatal. */
    Policy FAIL = change -> false;
    /** Every change becomes a warning. */
    Policy WARN = change -> true;

    boolean tolerate(FileChange change);
  }
}
