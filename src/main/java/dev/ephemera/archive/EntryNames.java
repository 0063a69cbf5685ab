package dev.ephemera.archive;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;

/**
 * Rules for entry names and link targets shared by the writer and the extractor, so that whatever
 * the writer keeps the extractor accepts.
 */
final class EntryNames {
  private EntryNames() {}

  /**
   * Canonical order of entries: unsigned UTF-8 bytes. A parent sorts before its children (a prefix
   * sorts first) and the order does not depend on the JVM's locale.
   */
  static final Comparator<String> ORDER =
      (a, b) -> Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

  /**
   * Returns why {@code path} is not a valid relative entry name, or {@code null} when it is: no
   * leading '/', no empty, '.' or '..' components, no NUL.
   */
  static ArchiveException.Reason problem(String path) {
    if (path.isEmpty() || path.indexOf('\0') >= 0) {
      return ArchiveException.Reason.BAD_NAME;
    }
    if (path.startsWith("/")) {
      return ArchiveException.Reason.ABSOLUTE_PATH;
    }
    for (String part : path.split("/", -1)) {
      if (part.equals("..")) {
        return ArchiveException.Reason.PARENT_COMPONENT;
      }
      if (part.isEmpty() || part.equals(".")) {
        return ArchiveException.Reason.BAD_NAME;
      }
    }
    return null;
  }

  /** Depth of the directory holding {@code path}: 0 for a top-level entry. */
  static int parentDepth(String path) {
    int depth = 0;
    for (int i = 0; i < path.length(); i++) {
      if (path.charAt(i) == '/') {
        depth++;
      }
    }
    return depth;
  }

  /**
   * Whether symlink {@code linkPath -> target} provably stays inside the root however the kernel
   * resolves it. The target must be relative, its '..' components must all come first (so they
   * climb real directories, never a directory reached through another symlink) and must not climb
   * above the root; '.' and empty components are ignored. Lexical normalisation alone is not
   * enough: with {@code d -> .}, {@code l -> d/../x} normalises to {@code x} but resolves outside.
   */
  static boolean symlinkStaysInside(String linkPath, String target) {
    if (target.isEmpty() || target.startsWith("/") || target.indexOf('\0') >= 0) {
      return false;
    }
    int ups = 0;
    boolean descended = false;
    for (String part : target.split("/", -1)) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        if (descended) {
          return false;
        }
        ups++;
      } else {
        descended = true;
      }
    }
    return ups <= parentDepth(linkPath);
  }

  /** Parent of a relative entry name, or {@code null} for a top-level entry. */
  static String parent(String path) {
    int slash = path.lastIndexOf('/');
    return slash < 0 ? null : path.substring(0, slash);
  }
}
