package dev.ephemera.archive;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** Test helpers: describe a directory tree completely, so two trees can be compared. */
final class Trees {
  private Trees() {}

  /** Temporary directories a property's tries make (jqwik has no @TempDir per try), deleted together afterwards. */
  static final class TempDirs {
    private final List<Path> made = new ArrayList<>();

    Path create(String prefix) throws IOException {
      Path p = Files.createTempDirectory(prefix);
      made.add(p);
      return p;
    }

    void deleteAll() throws IOException {
      for (Path p : made) {
        Restorer.deleteTree(p);
      }
      made.clear();
    }
  }

  /** Every path under root (not following symlinks) mapped to type, mode, mtime and content. */
  static Map<String, String> snapshot(Path root) {
    return snapshot(root, true);
  }

  static Map<String, String> snapshot(Path root, boolean withDirMtimes) {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        if (p.equals(root)) {
          continue;
        }
        out.put(root.relativize(p).toString(), describe(p, withDirMtimes));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  static String describe(Path p, boolean withDirMtimes) {
    try {
      int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
      FileTime mtime =
          Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
              .readAttributes()
              .lastModifiedTime();
      if (Files.isSymbolicLink(p)) {
        // The JDK sets a symlink's times with lutimes(2): microseconds, not nanoseconds.
        return "symlink -> " + Files.readSymbolicLink(p) + " mtime "
            + mtime.toInstant().truncatedTo(java.time.temporal.ChronoUnit.MICROS);
      }
      if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        return "dir " + Integer.toOctalString(mode & 07777) + (withDirMtimes ? " mtime " + mtime : "");
      }
      byte[] data = Files.readAllBytes(p);
      return "file " + Integer.toOctalString(mode & 07777) + " mtime " + mtime + " sha "
          + HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(data));
    } catch (Exception e) {
      throw new IllegalStateException(p.toString(), e);
    }
  }

  /** Relative paths of everything under root except directories, for a writer's selection. */
  static List<String> selection(Path root) throws IOException {
    List<String> out = new ArrayList<>();
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        if (p.equals(root)) {
          continue;
        }
        boolean dir = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
        boolean empty;
        try (Stream<Path> children = dir ? Files.list(p) : Stream.empty()) {
          empty = dir && children.findAny().isEmpty();
        }
        if (!dir || empty) {
          out.add(root.relativize(p).toString());
        }
      }
    }
    return out;
  }

  static void write(Path p, byte[] data) throws IOException {
    Files.createDirectories(p.getParent());
    Files.write(p, data);
  }

  /** Runs a shell command, failing with its output when it exits non-zero. */
  static String sh(Path dir, String command) throws IOException, InterruptedException {
    Process proc =
        new ProcessBuilder("bash", "-o", "pipefail", "-c", command).directory(dir.toFile()).redirectErrorStream(true).start();
    byte[] out = proc.getInputStream().readAllBytes();
    int rc = proc.waitFor();
    String text = new String(out, java.nio.charset.StandardCharsets.UTF_8);
    if (rc != 0) {
      throw new AssertionError("`" + command + "` exited " + rc + ":\n" + text);
    }
    return text;
  }
}
