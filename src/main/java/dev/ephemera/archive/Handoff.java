package dev.ephemera.archive;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Hands a byte stream from one thread to another through a few recycled buffers, so that reading
 * and hashing files (the tar writer) overlaps with chunking on another core. Bounded: at most
 * {@code buffers} buffers exist.
 */
final class Handoff {
  /** A filled buffer; the two sentinels end the stream. */
  private record Block(byte[] data, int length) {}

  private static final Block END = new Block(new byte[0], 0);
  private static final Block ABORT = new Block(new byte[0], 0);

  private final BlockingQueue<Block> full;
  private final BlockingQueue<byte[]> free;

  Handoff(int buffers, int bufferSize) {
    full = new ArrayBlockingQueue<>(buffers + 2);
    free = new ArrayBlockingQueue<>(buffers);
    for (int i = 0; i < buffers; i++) {
      free.add(new byte[bufferSize]);
    }
  }

  /** The writing side; {@code consumer} is watched so a failed reader does not block the writer. */
  OutputStream output(Future<?> consumer) {
    return new OutputStream() {
      private byte[] current;
      private int pos;

      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
          if (current == null) {
            current = take(free, consumer);
            pos = 0;
          }
          int n = Math.min(len, current.length - pos);
          System.arraycopy(b, off, current, pos, n);
          pos += n;
          off += n;
          len -= n;
          if (pos == current.length) {
            flushBuffer();
          }
        }
      }

      private void flushBuffer() throws IOException {
        put(new Block(current, pos), consumer);
        current = null;
      }

      @Override
      public void close() throws IOException {
        if (current != null && pos > 0) {
          flushBuffer();
        }
        put(END, consumer);
      }
    };
  }

  /** Tells the reading side to stop (the writer failed). */
  void abort() {
    full.offer(ABORT); // room is reserved: at most `buffers` blocks plus END are ever queued
  }

  /** The reading side: copies everything to {@code out} until the writer closes or aborts. */
  boolean drainTo(OutputStream out) throws IOException, InterruptedException {
    while (true) {
      Block b = full.take();
      if (b == END) {
        return true;
      }
      if (b == ABORT) {
        return false;
      }
      out.write(b.data(), 0, b.length());
      free.put(b.data());
    }
  }

  private void put(Block b, Future<?> consumer) throws IOException {
    try {
      while (!full.offer(b, 50, TimeUnit.MILLISECONDS)) {
        checkAlive(consumer);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted");
    }
  }

  private static byte[] take(BlockingQueue<byte[]> q, Future<?> consumer) throws IOException {
    try {
      byte[] b;
      while ((b = q.poll(50, TimeUnit.MILLISECONDS)) == null) {
        checkAlive(consumer);
      }
      return b;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted");
    }
  }

  private static void checkAlive(Future<?> consumer) throws IOException {
    if (consumer.isDone()) {
      Concurrency.await(consumer);
      throw new IOException("the chunking side stopped early");
    }
  }
}
