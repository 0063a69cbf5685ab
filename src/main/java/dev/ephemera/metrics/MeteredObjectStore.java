package dev.ephemera.metrics;

import dev.ephemera.store.NoSuchObjectException;
import dev.ephemera.store.ObjectStore;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * An {@link ObjectStore} that times every call to the one it wraps ({@code ephemera_store_call_seconds} by {@code op}
 * and {@code outcome}: ok, missing or error). For {@link #open}, {@link #openRange} and {@link #list} it times opening
 * (the store's answer), not the reading the caller does afterwards. Presigning and {@link #describe} make no call.
 */
public final class MeteredObjectStore implements ObjectStore {
  private final ObjectStore store;
  private final Meters meters;

  public MeteredObjectStore(ObjectStore store, Meters meters) {
    this.store = store;
    this.meters = meters;
  }

  private <T> T timed(String op, Supplier<T> call) {
    long start = System.nanoTime();
    String outcome = "error";
    try {
      T result = call.get();
      outcome = "ok";
      return result;
    } catch (NoSuchObjectException e) {
      outcome = "missing";
      throw e;
    } finally {
      meters.storeCall(op, outcome, System.nanoTime() - start);
    }
  }

  private void timed(String op, Runnable call) {
    timed(
        op,
        () -> {
          call.run();
          return null;
        });
  }

  @Override
  public void put(String key, byte[] bytes) {
    timed("put", () -> store.put(key, bytes));
  }

  @Override
  public void put(String key, Path file) {
    timed("put", () -> store.put(key, file));
  }

  @Override
  public InputStream open(String key) {
    return timed("get", () -> store.open(key));
  }

  @Override
  public InputStream openRange(String key, long offset, long length) {
    return timed("get", () -> store.openRange(key, offset, length));
  }

  @Override
  public Optional<byte[]> getBytes(String key) {
    return timed("get", () -> store.getBytes(key));
  }

  @Override
  public boolean exists(String key) {
    return timed("head", () -> store.exists(key));
  }

  @Override
  public OptionalLong size(String key) {
    return timed("head", () -> store.size(key));
  }

  @Override
  public void delete(String key) {
    timed("delete", () -> store.delete(key));
  }

  @Override
  public Stream<String> list(String prefix) {
    return timed("list", () -> store.list(prefix));
  }

  @Override
  public Optional<URI> presignGet(String key, Duration ttl) {
    return store.presignGet(key, ttl);
  }

  @Override
  public Optional<URI> presignPut(String key, Duration ttl) {
    return store.presignPut(key, ttl);
  }

  @Override
  public void check() {
    timed("check", store::check);
  }

  @Override
  public String describe() {
    return store.describe();
  }

  @Override
  public void close() {
    store.close();
  }
}
