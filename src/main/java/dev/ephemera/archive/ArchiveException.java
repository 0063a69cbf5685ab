package dev.ephemera.archive;

import java.io.IOException;

/**
 * An archive was refused: it is unsafe, corrupt, truncated or over a configured limit.
 *
 * <p>The message always names the offending entry (or chunk) and the reason, so a person reading a
 * job log can tell what happened; {@link #reason()} lets callers count refusals by kind. When this
 * is thrown by a restore or unpack, nothing has been written to the target.
 */
public final class ArchiveException extends IOException {
  private static final long serialVersionUID = 1L;

  /** Why an archive was refused. */
  public enum Reason {
    ABSOLUTE_PATH("absolute path"),
    PARENT_COMPONENT("path has a '..' component"),
    BAD_NAME("invalid entry name"),
    THROUGH_SYMLINK("would write through a symlink"),
    THROUGH_HARDLINK("would write through a hardlink or into a non-directory"),
    LINK_OUTSIDE_ROOT("link points outside the root"),
    PRE_EXISTING_SYMLINK("a symlink already exists on disk in the way"),
    CONFLICT("conflicts with what already exists in the target"),
    DEVICE_OR_FIFO("device files and FIFOs are not allowed"),
    UNSUPPORTED_ENTRY("unsupported entry type"),
    DUPLICATE("duplicate entry"),
    TOO_MANY_ENTRIES("more entries than the limit"),
    TOO_LARGE("more bytes than the limit"),
    COMPRESSION_RATIO("compression ratio above the limit"),
    TRUNCATED("truncated stream"),
    CORRUPT("corrupt stream"),
    HASH_MISMATCH("hash mismatch");

    private final String text;

    Reason(String text) {
      this.text = text;
    }

    /** Human-readable form used in messages. */
    public String text() {
      return text;
    }
  }

  private final Reason reason;
  private final String entry;

  /**
   * @param reason why the archive was refused
   * @param entry the entry name or chunk hash concerned, or {@code null} for the whole stream
   * @param detail extra detail appended to the message, or {@code null}
   */
  public ArchiveException(Reason reason, String entry, String detail) {
    super(message(reason, entry, detail));
    this.reason = reason;
    this.entry = entry;
  }

  private static String message(Reason reason, String entry, String detail) {
    var sb = new StringBuilder("refused");
    if (entry != null) {
      sb.append(" entry '").append(entry).append('\'');
    } else {
      sb.append(" archive");
    }
    sb.append(": ").append(reason.text());
    if (detail != null && !detail.isEmpty()) {
      sb.append(" (").append(detail).append(')');
    }
    return sb.toString();
  }

  public Reason reason() {
    return reason;
  }

  /** The entry or chunk concerned, or {@code null}. */
  public String entry() {
    return entry;
  }
}
