package dev.ephemera.archive;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.IntFunction;
import java.util.function.ToIntFunction;

/**
 * A few large buffers (byte arrays, or direct {@link ByteBuffer}s) kept for reuse: {@link #take} hands out the
 * smallest spare that fits (best fit) or a new buffer rounded up to a multiple of {@code granule}; {@link #give} keeps
 * at most {@code capacity} spares, dropping the smallest when full. Thread-safe.
 *
 * <p>Why best fit: chunk sizes vary (FastCDC, 256 KiB to 4 MiB), and a pool that only looks at its next spare drops it
 * whenever it is too small and allocates a new one. In a 540 MB restore that allocated 115 MB of chunk arrays for a
 * window of 17 (JFR), each of them zeroed by the JVM, copied by a young collection into the old generation, and
 * backed by memory touched for the first time. With best fit the spares settle on the sizes the stream needs.
 */
final class SizedPool<T> {
  private final int capacity;
  private final int granule;
  private final IntFunction<T> allocate;
  private final ToIntFunction<T> sizeOf;
  private final Consumer<T> reuse;
  private final List<T> spares;

  /**
   * @param capacity spares kept at most
   * @param granule new buffers are rounded up to a multiple of it (a power of two), so they fit later requests too
   * @param allocate a new buffer of exactly that size
   * @param sizeOf a buffer's size
   * @param reuse what a spare needs before it is handed out again
   */
  SizedPool(int capacity, int granule, IntFunction<T> allocate, ToIntFunction<T> sizeOf, Consumer<T> reuse) {
    if (capacity < 0 || granule < 1 || Integer.bitCount(granule) != 1) {
      throw new IllegalArgumentException("capacity " + capacity + ", granule " + granule);
    }
    this.capacity = capacity;
    this.granule = granule;
    this.allocate = allocate;
    this.sizeOf = sizeOf;
    this.reuse = reuse;
    this.spares = new ArrayList<>(capacity);
  }

  /** Byte arrays. */
  static SizedPool<byte[]> arrays(int capacity, int granule) {
    return new SizedPool<>(capacity, granule, byte[]::new, a -> a.length, a -> {});
  }

  /**
   * Direct buffers (outside the Java heap: not zeroed twice, never copied by a collection, and written to a file
   * without the JDK's copy into a temporary direct buffer). A spare is handed out cleared.
   */
  static SizedPool<ByteBuffer> direct(int capacity, int granule) {
    return new SizedPool<>(capacity, granule, ByteBuffer::allocateDirect, ByteBuffer::capacity, ByteBuffer::clear);
  }

  /** A buffer of at least {@code size} bytes: the smallest spare that fits, else a new one. */
  T take(int size) {
    synchronized (spares) {
      int best = -1;
      for (int i = 0; i < spares.size(); i++) {
        int length = sizeOf.applyAsInt(spares.get(i));
        if (length >= size && (best < 0 || length < sizeOf.applyAsInt(spares.get(best)))) {
          best = i;
        }
      }
      if (best >= 0) {
        T spare = removeAt(best);
        reuse.accept(spare);
        return spare;
      }
    }
    long rounded = ((long) size + granule - 1) & -(long) granule;
    return allocate.apply((int) Math.min(Integer.MAX_VALUE - 16, Math.max(size, rounded)));
  }

  /** Takes {@code buffer} back for later {@link #take}s (the caller no longer refers to it). */
  void give(T buffer) {
    if (capacity == 0) {
      return;
    }
    synchronized (spares) {
      if (spares.size() < capacity) {
        spares.add(buffer);
        return;
      }
      int smallest = 0;
      for (int i = 1; i < spares.size(); i++) {
        if (sizeOf.applyAsInt(spares.get(i)) < sizeOf.applyAsInt(spares.get(smallest))) {
          smallest = i;
        }
      }
      if (sizeOf.applyAsInt(spares.get(smallest)) < sizeOf.applyAsInt(buffer)) {
        spares.set(smallest, buffer);
      }
    }
  }

  /** Spares held now. */
  int spares() {
    synchronized (spares) {
      return spares.size();
    }
  }

  private T removeAt(int i) {
    int last = spares.size() - 1;
    T b = spares.get(i);
    spares.set(i, spares.get(last));
    spares.remove(last);
    return b;
  }
}
