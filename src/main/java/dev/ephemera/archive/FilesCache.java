package dev.ephemera.archive;

import dev.ephemera.archive.Manifest.Chunk;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What a restore leaves behind so that a later persist of the same directory need not read, hash and chunk the files
 * nobody touched since: where every entry of the restored set's tar stream starts, a digest of its header bytes, and
 * the set's chunks in order.
 *
 * <p>A persist trusts an entry only when the header it would write now has the same digest (same name, type, size,
 * mode, mtime to the nanosecond, link target) and, for a file, its ctime is older than this record: a restore writes
 * the record after its last file, and anything that changes a file afterwards (a write, chmod, utimes, a rename onto
 * it) sets the file's ctime to the present, which no program can set back. A file whose ctime ties with the record's is
 * read, like a changed one. Nothing here is trusted for the set's integrity: the worker digests the stream it is
 * given, and a chunk the store no longer has turns the persist back into one that reads everything.
 *
 * <p>One record per restored directory ({@code <dir>/files-<sha256 of the path>}), written atomically; binary, because
 * a restore of 35,000 files should not spend its time on JSON.
 */
public final class FilesCache {
  /** Bytes of a header's sha256 kept: enough that two different headers never collide by accident. */
  static final int HEADER_HASH_BYTES = 16;

  private static final int MAGIC = 0x45504643; // "EPFC"
  private static final int FORMAT = 2;
  /** Where Linux names this boot; a record from another boot (another machine, an image, a set) is not used. */
  private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");

  /**
   * One entry of a tar stream as a restore read it.
   *
   * @param path the entry's name, normalised as the extractor wrote it (no "./", no trailing '/')
   * @param offset where its first header byte (its extended headers' if any) is in the tar stream
   * @param headerHash the first {@value #HEADER_HASH_BYTES} bytes of the sha256 of all its header bytes
   */
  public record Entry(String path, long offset, byte[] headerHash) {
    public Entry {
      Objects.requireNonNull(path, "path");
      if (headerHash.length != HEADER_HASH_BYTES) {
        throw new IllegalArgumentException("header hash of " + headerHash.length + " bytes");
      }
    }
  }

  /**
   * A tar stream's layout: its entries in stream order and where its end-of-archive marker starts.
   *
   * @param entries every entry read, in stream order
   * @param endOffset where the end-of-archive marker starts
   */
  public record Layout(List<Entry> entries, long endOffset) {
    public Layout {
      entries = List.copyOf(entries);
    }
  }

  /**
   * A restored set as the record keeps it.
   *
   * @param setId the set restored
   * @param root the directory it was restored into (absolute, normalised)
   * @param chunks its chunks in stream order (sha256 and raw size; stored sizes are not kept)
   * @param layout its tar stream's layout
   * @param writtenAt the record's own ctime: files changed at or after it are not trusted
   */
  public record Record(String setId, Path root, List<Chunk> chunks, Layout layout, FileTime writtenAt) {
    public Record {
      chunks = List.copyOf(chunks);
    }
  }

  /**
   * What the restored set's manifest says, as a persist using its record needs it.
   *
   * @param chunks its chunks' sha256 in stream order: they must be the record's (a record is a file anyone with the
   *     directory could have written; the manifest is the worker's)
   * @param fileSha256 the sha256 of every regular file, by path; empty when fetched without the manifest's files (a
   *     writer without file digests, as a persist is, needs none)
   */
  public record Restored(List<String> chunks, java.util.Map<String, String> fileSha256) {
    public Restored {
      chunks = List.copyOf(chunks);
    }

    /** What {@code manifest} says (where a manifest is at hand whole; the CLI reads only these fields of the JSON). */
    public static Restored of(Manifest manifest) {
      java.util.Map<String, String> files = new java.util.HashMap<>();
      for (Manifest.FileEntry f : manifest.files()) {
        if (f.type() == Manifest.EntryType.FILE) {
          files.put(f.path(), f.sha256());
        }
      }
      return new Restored(manifest.chunks().stream().map(Chunk::sha256).toList(), files);
    }
  }

  /** Fetches {@link Restored} (from the worker); asked once, when the first entry matches. */
  @FunctionalInterface
  public interface RestoredManifest {
    Restored load() throws IOException;
  }

  private final Path dir;
  private final String boot;

  /** Records kept in {@code dir} (created when first written). */
  public FilesCache(Path dir) {
    this(dir, bootId());
  }

  /**
   * @param boot this boot's identity: a record written under another is not used. The record's ctime says when it was
   *     written only on the machine that wrote it: a record that arrived otherwise (restored from a set that held the
   *     cache directory, copied with an image) could vouch for files its restore never wrote.
   */
  FilesCache(Path dir, String boot) {
    this.dir = Objects.requireNonNull(dir, "dir");
    this.boot = Objects.requireNonNull(boot, "boot");
  }

  private static String bootId() {
    try {
      return Files.readString(BOOT_ID).trim();
    } catch (IOException | RuntimeException e) {
      return ""; // not Linux: records are bound to the directory and the ctime rule alone
    }
  }

  private Path fileFor(Path root) {
    return dir.resolve("files-" + Sha256.of(key(root).getBytes(StandardCharsets.UTF_8)).substring(0, 32));
  }

  private static String key(Path root) {
    return root.toAbsolutePath().normalize().toString();
  }

  /** Records that {@code setId} (its {@code chunks}, laid out as {@code layout}) was just restored into {@code root}. */
  public void write(String setId, Path root, List<Chunk> chunks, Layout layout) throws IOException {
    Files.createDirectories(dir);
    Path file = fileFor(root);
    Path temp = Files.createTempFile(dir, ".files-", ".tmp");
    try {
      try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(temp), 1 << 16))) {
        out.writeInt(MAGIC);
        out.writeInt(FORMAT);
        out.writeUTF(boot);
        out.writeUTF(setId);
        writeString(out, key(root));
        out.writeInt(chunks.size());
        HexFormat hex = HexFormat.of();
        for (Chunk c : chunks) {
          out.write(hex.parseHex(c.sha256()));
          out.writeInt(c.rawSize());
        }
        out.writeInt(layout.entries().size());
        for (Entry e : layout.entries()) {
          writeString(out, e.path());
          out.writeLong(e.offset());
          out.write(e.headerHash());
        }
        out.writeLong(layout.endOffset());
      }
      // The rename sets the record's ctime after every restored file's: the line between trusted and changed.
      Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  /** The record of the last restore into {@code root}, if there is a readable one. */
  public Optional<Record> read(Path root) throws IOException {
    Path file = fileFor(root);
    FileTime writtenAt;
    try {
      writtenAt = (FileTime) Files.getAttribute(file, "unix:ctime", LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
    try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
      if (in.readInt() != MAGIC || in.readInt() != FORMAT || !in.readUTF().equals(boot)) {
        return Optional.empty();
      }
      String setId = in.readUTF();
      String recordedRoot = readString(in);
      if (!recordedRoot.equals(key(root))) {
        return Optional.empty(); // a collision of the name's hash prefix
      }
      int chunkCount = in.readInt();
      List<Chunk> chunks = new ArrayList<>(chunkCount);
      HexFormat hex = HexFormat.of();
      byte[] sha = new byte[32];
      for (int i = 0; i < chunkCount; i++) {
        in.readFully(sha);
        // the stored size is not recorded; the store's answer to `present` gives it
        chunks.add(new Chunk(hex.formatHex(sha), in.readInt(), 1));
      }
      int entryCount = in.readInt();
      List<Entry> entries = new ArrayList<>(entryCount);
      for (int i = 0; i < entryCount; i++) {
        String path = readString(in);
        long offset = in.readLong();
        byte[] hash = new byte[HEADER_HASH_BYTES];
        in.readFully(hash);
        entries.add(new Entry(path, offset, hash));
      }
      long end = in.readLong();
      return Optional.of(new Record(setId, Path.of(key(root)), chunks, new Layout(entries, end), writtenAt));
    } catch (EOFException | IllegalArgumentException e) {
      return Optional.empty(); // cut short or not ours: a persist reads everything, as without a record
    }
  }

  /** Strings of any length (writeUTF stops at 64 KiB; a path may be longer). */
  private static void writeString(DataOutputStream out, String s) throws IOException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(b.length);
    out.write(b);
  }

  private static String readString(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > (1 << 20)) {
      throw new EOFException("bad string length " + n);
    }
    byte[] b = new byte[n];
    in.readFully(b);
    return new String(b, StandardCharsets.UTF_8);
  }
}
