package dev.ephemera.archive;

import java.io.IOException;

/** A file changed or vanished while being archived and the {@link FileChange.Policy} refused it. */
public final class FileChangedException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient FileChange change;

  public FileChangedException(FileChange change) {
    super(change.describe());
    this.change = change;
  }

  public FileChange change() {
    return change;
  }
}
