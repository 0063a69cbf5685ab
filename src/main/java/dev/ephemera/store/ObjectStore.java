package dev.ephemera.store;

import java.io.InputStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * A narrow blob store keyed by relative path-like keys ({@code chunks/<sha256>}, {@code
 * manifests/<ULID>.json}); see {@link ObjectKeys} for what a key may be.
 *
 * <p>Contract shared by every implementation (and checked by one contract test suite):
 *
 * <ul>
 *   <li>A put is atomic: a reader sees the whole old object, the whole new one or none, never a
 *       partial one. Concurrent puts of the same key are safe; since keys are content hashes the
 *       racing writers carry the same bytes and one of them wins.
 *   <li>Constructors do no I/O; {@link #check()} makes one cheap call and is what health checks
 *       use.
 *   <li>Store failures are {@link ObjectStoreException}s (transient or permanent, for a {@link
 *       Retry} to decide); a read of a missing key is a {@link NoSuchObjectException}; an invalid
 *       key is an {@link IllegalArgumentException}.
 *   <li>Streams returned by {@link #open}, {@link #openRange} and {@link #list} must be closed.
 * </ul>
 */
public interface ObjectStore extends AutoCloseable {

  /** Stores {@code bytes} under {@code key}, replacing any existing object. */
  void put(String key, byte[] bytes);

  /**
   * Stores the content of {@code file} under {@code key}, streaming it (the file is never held in
   * memory as a whole). The file must not change during the call.
   */
  void put(String key, Path file);

  /**
   * Opens the object for reading.
   *
   * @throws NoSuchObjectException if there is no object under {@code key}
   */
  InputStream open(String key);

  /**
   * Opens bytes {@code [offset, offset + length)} of the object, cut short at its end: a range
   * reaching past the end yields the bytes up to the end, and an offset at or past the end yields
   * no bytes.
   *
   * @throws NoSuchObjectException if there is no object under {@code key}
   * @throws IllegalArgumentException if {@code offset} or {@code length} is negative
   */
  InputStream openRange(String key, long offset, long length);

  /** The whole object, or empty if there is none; for small objects such as manifests. */
  Optional<byte[]> getBytes(String key);

  /** Whether an object is stored under {@code key}. */
  boolean exists(String key);

  /** The object's size in bytes, or empty if there is none. */
  OptionalLong size(String key);

  /** Deletes the object; deleting a missing object is not an error. */
  void delete(String key);

  /**
   * The keys starting with {@code prefix} (plain string prefix: {@code "chunks/ab"} matches {@code
   * chunks/abcd...}), in ascending order. Lazy where the store pages its listing; the caller must
   * close the stream. An empty prefix lists everything.
   */
  Stream<String> list(String prefix);

  /**
   * A URL that lets anyone holding it GET the object for {@code ttl}, without credentials; empty
   * when the store cannot sign URLs (then the API streams the bytes itself).
   */
  Optional<URI> presignGet(String key, Duration ttl);

  /** A URL that lets anyone holding it PUT the object for {@code ttl}; empty when not supported. */
  Optional<URI> presignPut(String key, Duration ttl);

  /**
   * One cheap call proving the store is reachable and usable (a bucket HEAD, a directory check).
   *
   * @throws ObjectStoreException if it is not
   */
  void check();

  /** Where the objects live, for logs and error messages, without credentials. */
  String describe();

  /** Releases clients and connections; does not throw checked exceptions. */
  @Override
  void close();
}
