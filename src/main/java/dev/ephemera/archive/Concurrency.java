package dev.ephemera.archive;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/** Small helpers for the archive pipelines (and the API's store work): named daemon pools and checked waiting. */
public final class Concurrency {
  private Concurrency() {}

  /** Something that may throw an IOException, run on a pool. */
  @FunctionalInterface
  public interface IoSupplier<T> {
    T get() throws IOException;
  }

  /** Wraps so the IOException survives the trip through a CompletableFuture. */
  public static <T> java.util.function.Supplier<T> unchecked(IoSupplier<T> s) {
    return () -> {
      try {
        return s.get();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    };
  }

  /** A fixed pool of {@code threads} daemon threads named {@code ephemera-NAME-N}. */
  public static ExecutorService pool(String name, int threads) {
    AtomicInteger n = new AtomicInteger();
    ThreadFactory f =
        r -> {
          Thread t = new Thread(r, "ephemera-" + name + "-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        };
    return Executors.newFixedThreadPool(threads, f);
  }

  /** Waits for a result, rethrowing the task's IOException as itself. */
  public static <T> T await(Future<T> f) throws IOException {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted");
    } catch (ExecutionException e) {
      throw rethrow(e.getCause());
    } catch (CancellationException e) {
      throw new InterruptedIOException("cancelled");
    }
  }

  /** Waits at most until {@code deadlineNanos} (a {@link System#nanoTime()} value). */
  static <T> T await(Future<T> f, long deadlineNanos, Duration overall) throws IOException {
    try {
      return f.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      throw new IOException("did not finish within its deadline of " + overall.toString().substring(2).toLowerCase());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted");
    } catch (ExecutionException e) {
      throw rethrow(e.getCause());
    } catch (CancellationException e) {
      throw new InterruptedIOException("cancelled");
    }
  }

  public static IOException rethrow(Throwable t) {
    Throwable c = t;
    while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
      c = c.getCause();
    }
    if (c instanceof UncheckedIOException u) {
      return u.getCause();
    }
    if (c instanceof IOException io) {
      return io;
    }
    if (c instanceof RuntimeException re) {
      throw re;
    }
    if (c instanceof Error err) {
      throw err;
    }
    return new IOException(c);
  }
}
