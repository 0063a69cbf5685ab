package dev.ephemera.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * An {@link ObjectStore} in a local directory: key {@code a/b/c} is the file {@code root/a/b/c}.
 * The embedded default, for a single machine and for {@code make run}.
 *
 * <p>A put writes a temporary file in the target's own directory, forces it to disk and renames it
 * over the target with {@link StandardCopyOption#ATOMIC_MOVE}: readers see the old file or the new
 * one, and racing writers of the same key each rename a complete file. Temporary names contain
 * {@code ~}, which no key may contain, so a listing never shows them and no key can collide with
 * them. Presigned URLs are not supported: the HTTP API streams local objects itself.
 */
public final class LocalDirectoryStore implements ObjectStore {

  private static final String TEMP_MARK = "~tmp-";

  private final Path root;

  /** Does no I/O; the directory is created by {@link #check()} or the first put. */
  public LocalDirectoryStore(Path root) {
    this.root = Objects.requireNonNull(root, "root").toAbsolutePath().normalize();
  }

  /** The directory holding the objects. */
  public Path root() {
    return root;
  }

  @Override
  public void put(String key, byte[] bytes) {
    Objects.requireNonNull(bytes, "bytes");
    writeAtomically(
        key,
        temp -> {
          try (FileChannel out =
              FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
              out.write(buffer);
            }
            out.force(true);
          }
        });
  }

  @Override
  public void put(String key, Path file) {
    Objects.requireNonNull(file, "file");
    writeAtomically(
        key,
        temp -> {
          try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ);
              FileChannel out =
                  FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long size = in.size();
            long copied = 0;
            while (copied < size) {
              long n = in.transferTo(copied, size - copied, out);
              if (n <= 0) {
                break; // the file shrank under us; what we copied is what it holds now
              }
              copied += n;
            }
            out.force(true);
          }
        });
  }

  private interface TempWriter {
    void write(Path temp) throws IOException;
  }

  private void writeAtomically(String key, TempWriter writer) {
    Path target = pathOf(key);
    Path dir = target.getParent();
    // not derived from the file name: a 255-character name plus a suffix would be too long
    Path temp = dir.resolve("." + TEMP_MARK + UUID.randomUUID());
    try {
      Files.createDirectories(dir);
      writer.write(temp);
      try {
        Files.move(
            temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        // same directory, so only an exotic file system gets here; fail rather than risk torn reads
        throw failure("put", key, e);
      }
    } catch (IOException e) {
      throw failure("put", key, e);
    } finally {
      try {
        Files.deleteIfExists(temp);
      } catch (IOException ignored) {
        // a leftover temp file is invisible to readers and listings; not worth failing the put
      }
    }
  }

  @Override
  public InputStream open(String key) {
    Path path = pathOf(key);
    try {
      return Files.newInputStream(path);
    } catch (NoSuchFileException e) {
      throw new NoSuchObjectException(key, describe(), e);
    } catch (IOException e) {
      throw failure("open", key, e);
    }
  }

  @Override
  public InputStream openRange(String key, long offset, long length) {
    requireRange(offset, length);
    Path path = pathOf(key);
    FileChannel channel;
    try {
      channel = FileChannel.open(path, StandardOpenOption.READ);
    } catch (NoSuchFileException e) {
      throw new NoSuchObjectException(key, describe(), e);
    } catch (IOException e) {
      throw failure("open", key, e);
    }
    try {
      // positioning past the end is allowed and reads as end of stream, which is the contract
      channel.position(offset);
      return new RangeInputStream(Channels.newInputStream(channel), length);
    } catch (IOException | RuntimeException e) {
      try {
        channel.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      if (e instanceof IOException io) {
        throw failure("open", key, io);
      }
      throw (RuntimeException) e;
    }
  }

  static void requireRange(long offset, long length) {
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException(
          "range must not be negative: offset " + offset + ", length " + length);
    }
  }

  @Override
  public Optional<byte[]> getBytes(String key) {
    try {
      return Optional.of(Files.readAllBytes(pathOf(key)));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw failure("read", key, e);
    }
  }

  @Override
  public boolean exists(String key) {
    return Files.isRegularFile(pathOf(key));
  }

  @Override
  public OptionalLong size(String key) {
    try {
      return OptionalLong.of(Files.size(pathOf(key)));
    } catch (NoSuchFileException e) {
      return OptionalLong.empty();
    } catch (IOException e) {
      throw failure("stat", key, e);
    }
  }

  @Override
  public void delete(String key) {
    try {
      Files.deleteIfExists(pathOf(key));
    } catch (IOException e) {
      throw failure("delete", key, e);
    }
  }

  @Override
  public Stream<String> list(String prefix) {
    ObjectKeys.requireValidPrefix(prefix);
    // walk only the deepest directory the prefix names completely: "chunks/ab" walks root/chunks
    int slash = prefix.lastIndexOf('/');
    Path start = slash < 0 ? root : root.resolve(prefix.substring(0, slash));
    if (!Files.isDirectory(start)) {
      return Stream.empty();
    }
    List<String> keys = new ArrayList<>();
    try (Stream<Path> paths = Files.walk(start)) {
      paths
          .filter(Files::isRegularFile)
          .map(this::keyOf)
          .filter(key -> key.startsWith(prefix) && ObjectKeys.isValidKey(key))
          .forEach(keys::add);
    } catch (IOException | UncheckedIOException e) {
      // a directory removed while walking is the usual cause; report it like any other store
      // failure
      IOException io = e instanceof UncheckedIOException u ? u.getCause() : (IOException) e;
      throw failure("list", prefix, io);
    }
    // sorted like S3 lists (keys are ASCII, so String order is byte order)
    keys.sort(null);
    return keys.stream();
  }

  private String keyOf(Path file) {
    Path relative = root.relativize(file);
    StringBuilder key = new StringBuilder();
    for (Path part : relative) {
      if (key.length() > 0) {
        key.append('/');
      }
      key.append(part);
    }
    return key.toString();
  }

  @Override
  public Optional<URI> presignGet(String key, Duration ttl) {
    ObjectKeys.requireValidKey(key);
    return Optional.empty();
  }

  @Override
  public Optional<URI> presignPut(String key, Duration ttl) {
    ObjectKeys.requireValidKey(key);
    return Optional.empty();
  }

  /** Creates the root if needed and checks that it is a writable directory. */
  @Override
  public void check() {
    try {
      Files.createDirectories(root);
    } catch (IOException e) {
      throw failure("check", "", e);
    }
    if (!Files.isWritable(root)) {
      throw new ObjectStoreException("object store directory " + root + " is not writable", false);
    }
  }

  @Override
  public String describe() {
    return "local directory " + root;
  }

  @Override
  public void close() {
    // nothing held open between calls
  }

  private Path pathOf(String key) {
    // a valid key has no "..", no leading "/" and no empty component, so this stays under root
    return root.resolve(ObjectKeys.requireValidKey(key));
  }

  private ObjectStoreException failure(String operation, String key, IOException e) {
    return new ObjectStoreException(
        operation + " " + key + " in " + describe() + " failed: " + e, isTransient(e), e);
  }

  /**
   * Local failures are mostly permanent (permissions, a file where a directory should be). A full
   * disk is the exception: GC or eviction may free space, so the call is worth retrying later.
   */
  private static boolean isTransient(IOException e) {
    if (e instanceof AccessDeniedException || e instanceof NoSuchFileException) {
      return false;
    }
    String reason = e instanceof FileSystemException fs ? fs.getReason() : e.getMessage();
    return reason != null && reason.contains("No space left");
  }
}
