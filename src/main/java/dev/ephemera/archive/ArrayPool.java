package dev.ephemera.archive;

import java.util.ArrayList;
import java.util.List;

/**
 * A few large byte arrays kept for reuse: {@link #take} hands out the smallest spare that fits (best fit) or a new
 * array rounded up to a multiple of {@code granule}; {@link #give} keeps at most {@code capacity} spares, dropping the
 * smallest when full. Thread-safe.
 *
 * <p>Why best fit: chunk sizes vary (FastCDC, 256 KiB to 4 MiB), and a pool that only looks at its next spare drops it
 * whenever it is too small and allocates a new one. In a 540 MB restore that allocated 115 MB of chunk arrays for a
 * window of 17 (JFR), each of them zeroed by the JVM, copied by a young collection into the old generation, and
 * backed by memory touched for the first time. With best fit the spares settle on the sizes the stream needs.
 */
final class ArrayPool {
  private final int capacity;
  private final int granule;
  private final List<byte[]> spares;

  /**
   * @param capacity spares kept at most
   * @param granule new arrays are rounded up to a multiple of it (a power of two), so they fit later requests too
   */
  ArrayPool(int capacity, int granule) {
    if (capacity < 0 || granule < 1 || Integer.bitCount(granule) != 1) {
      throw new IllegalArgumentException("capacity " + capacity + ", granule " + granule);
    }
    this.capacity = capacity;
    this.granule = granule;
    this.spares = new ArrayList<>(capacity);
  }

  /** An array of at least {@code size} bytes: the smallest spare that fits, else a new one. */
  byte[] take(int size) {
    synchronized (spares) {
      int best = -1;
      for (int i = 0; i < spares.size(); i++) {
        int length = spares.get(i).length;
        if (length >= size && (best < 0 || length < spares.get(best).length)) {
          best = i;
        }
      }
      if (best >= 0) {
        return removeAt(best);
      }
    }
    long rounded = ((long) size + granule - 1) & -(long) granule;
    return new byte[(int) Math.min(Integer.MAX_VALUE - 16, Math.max(size, rounded))];
  }

  /** Takes {@code array} back for later {@link #take}s (the caller no longer refers to it). */
  void give(byte[] array) {
    if (capacity == 0) {
      return;
    }
    synchronized (spares) {
      if (spares.size() < capacity) {
        spares.add(array);
        return;
      }
      int smallest = 0;
      for (int i = 1; i < spares.size(); i++) {
        if (spares.get(i).length < spares.get(smallest).length) {
          smallest = i;
        }
      }
      if (spares.get(smallest).length < array.length) {
        spares.set(smallest, array);
      }
    }
  }

  /** Spares held now. */
  int spares() {
    synchronized (spares) {
      return spares.size();
    }
  }

  private byte[] removeAt(int i) {
    int last = spares.size() - 1;
    byte[] b = spares.get(i);
    spares.set(i, spares.get(last));
    spares.remove(last);
    return b;
  }
}
