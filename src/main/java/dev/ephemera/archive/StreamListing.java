package dev.ephemera.archive;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * {@link SafeExtractor#list} over a tar stream whose bytes arrive in pieces, in order, from another thread: the
 * worker's digesters hand it each chunk's raw bytes as they hash them, and the listing runs on a thread of its own.
 *
 * <p>At most {@value #AHEAD} pieces wait for the lister; {@link #accept} blocks beyond that, so what is held is a few
 * chunks whatever the stream's size. Once the lister has stopped (the stream refused, or {@link #close}), pieces are
 * dropped instead of waiting. Not for concurrent givers: one thread gives the pieces, in stream order.
 */
public final class StreamListing implements AutoCloseable {
  private static final int AHEAD = 4;
  /** Stands for the end of the stream in the queue. */
  private static final byte[] END = new byte[0];

  /**
   * What the listing found: the stream's entries, or why every restore would refuse it (exactly one is non-null).
   */
  public record Outcome(SafeExtractor.Listing listing, ArchiveException refusal) {
    public Outcome {
      if ((listing == null) == (refusal == null)) {
        throw new IllegalArgumentException("an outcome is a listing or a refusal");
      }
    }
  }

  private final ArrayBlockingQueue<byte[]> pieces = new ArrayBlockingQueue<>(AHEAD);
  private final CompletableFuture<Outcome> outcome = new CompletableFuture<>();
  private final Thread lister;
  /** Set once the lister stopped: pieces are dropped. */
  private volatile boolean stopped;

  /**
   * Starts the lister (a daemon thread named {@code threadName}).
   *
   * @param limits the entry and byte limits a restore applies
   */
  public StreamListing(Limits limits, String threadName) {
    SafeExtractor extractor = new SafeExtractor(limits, 0);
    lister = new Thread(() -> run(extractor), threadName);
    lister.setDaemon(true);
    lister.start();
  }

  private void run(SafeExtractor extractor) {
    try {
      outcome.complete(new Outcome(extractor.list(new Pieces()), null));
    } catch (ArchiveException e) {
      outcome.complete(new Outcome(null, e));
    } catch (Throwable e) {
      outcome.completeExceptionally(e);
    } finally {
      stopped = true;
      pieces.clear();
    }
  }

  /** The stream's next bytes (kept as they are until listed: not to be changed afterwards). */
  public void accept(byte[] raw) throws InterruptedIOException {
    if (raw.length > 0) {
      give(raw);
    }
  }

  private void give(byte[] piece) throws InterruptedIOException {
    try {
      while (!stopped && !pieces.offer(piece, 50, TimeUnit.MILLISECONDS)) {
        // the lister is behind: wait for it (or for it to stop)
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while listing the stream");
    }
  }

  /**
   * Ends the stream and waits for the lister.
   *
   * @throws IOException when the listing failed otherwise than by refusing the stream (interrupted, for one)
   */
  public Outcome finish() throws IOException {
    give(END);
    try {
      return outcome.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      close();
      throw new InterruptedIOException("interrupted while listing the stream");
    } catch (ExecutionException e) {
      throw Concurrency.rethrow(e.getCause());
    }
  }

  /** Stops the lister if it still runs (a digest given up); {@link #finish} then fails. */
  @Override
  public void close() {
    if (!outcome.isDone()) {
      stopped = true;
      lister.interrupt();
    }
  }

  /** The pieces as one stream, lending views of them to the reader instead of copying. */
  private final class Pieces extends InputStream implements TarReader.Lender {
    private byte[] current = END;
    private int at;
    private boolean ended;

    /** Whether bytes are at hand (taking the next piece when the current one is used up); false at the end. */
    private boolean more() throws IOException {
      while (at == current.length) {
        if (ended) {
          return false;
        }
        byte[] next;
        try {
          next = pieces.take();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("the listing was stopped");
        }
        if (next == END) {
          ended = true;
          return false;
        }
        current = next;
        at = 0;
      }
      return true;
    }

    @Override
    public int read() throws IOException {
      return more() ? current[at++] & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      if (!more()) {
        return -1;
      }
      int n = Math.min(len, current.length - at);
      System.arraycopy(current, at, b, off, n);
      at += n;
      return n;
    }

    @Override
    public ByteBuffer lend(int max) throws IOException {
      if (!more()) {
        return null;
      }
      int n = Math.min(max, current.length - at);
      ByteBuffer view = ByteBuffer.wrap(current, at, n);
      at += n;
      return view;
    }
  }
}
