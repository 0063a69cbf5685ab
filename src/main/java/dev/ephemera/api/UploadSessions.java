package dev.ephemera.api;

import dev.ephemera.archive.ArchiveException;
import dev.ephemera.archive.ChunkFrames;
import dev.ephemera.archive.Limits;
import dev.ephemera.archive.Manifest;
import dev.ephemera.archive.StreamListing;
import dev.ephemera.store.ObjectStore;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's digests of a persist's tar stream, computed while its chunks arrive instead of after, so registering a
 * set only finishes them. The hashes are still the server's own: the raw bytes of an uploaded chunk are the ones this
 * worker verified against the chunk's name and stored, and every other chunk (already stored, or stored by someone else
 * meanwhile) is read back from the store, exactly as the registration's full digest does.
 *
 * <p>The client names an upload session and tells, with each {@code chunks/present} batch, the position of the batch's
 * chunks in its tar stream. A session's digester walks the positions in order: a chunk this worker stored during the
 * session is hashed from memory (held up to a memory cap; beyond it, and after it was hashed once, it is read back);
 * any other one is fetched from the store a few chunks ahead.
 *
 * <pre>
 *   open ──order/present/uploaded──▶ digesting ──finish(manifest)──▶ finished (the digests) ─▶ removed
 *     │                                 │ the manifest's chunk list differs from the order, a chunk is
 *     │                                 ▼ missing or unreadable, idle too long
 *     └──────────────────────────▶ broken: registration falls back to the full digest of the stored frames
 * </pre>
 *
 * <p>Sessions live in one worker's memory: a registration that reaches another replica (or follows a restart) finds
 * none and computes the full digest, as before; nothing about correctness depends on a session.
 */
final class UploadSessions {
  private static final Logger LOGGER = LoggerFactory.getLogger(UploadSessions.class);
  private static final Pattern ID = Pattern.compile("[0-9A-Za-z_-]{8,64}");

  /** What a finished session computed: the same values as the registration's full digest. */
  record Digests(
      String tarSha256,
      long tarSize,
      String archiveSha256,
      long archiveSize,
      List<Long> rawSizes,
      List<Long> storedSizes,
      StreamListing.Outcome listed) {}

  /** A chunk's bytes for the digester: held (frame and raw, stored by this worker), or to be read from the store. */
  private record Bytes(byte[] frame, byte[] raw) {
    static final Bytes IN_STORE = new Bytes(null, null);
  }

  private final ObjectStore store;
  private final Function<String, String> keyOf;
  private final int maxSessions;
  private final long maxHeldBytes;
  private final Duration idleLimit;
  private final Limits limits;
  private final Map<String, Session> sessions = new ConcurrentHashMap<>();
  private final AtomicLong held = new AtomicLong();
  private final ExecutorService digesters;
  /** The archive digests (of the stored frames), beside each session's tar digest: one lane per session, in order. */
  private final ExecutorService archiveDigesters;
  private final ExecutorService fetchers;

  /** @param limits what the stream may hold (its listing refuses more, as a restore would) */
  UploadSessions(
      ObjectStore store,
      Function<String, String> keyOf,
      int maxSessions,
      long maxHeldBytes,
      Duration idleLimit,
      Limits limits) {
    this.store = store;
    this.limits = limits;
    this.keyOf = keyOf;
    this.maxSessions = maxSessions;
    this.maxHeldBytes = maxHeldBytes;
    this.idleLimit = idleLimit;
    this.digesters = Executors.newCachedThreadPool(daemon("ephemera-upload-digest-"));
    this.archiveDigesters = Executors.newCachedThreadPool(daemon("ephemera-upload-archive-digest-"));
    this.fetchers = Executors.newFixedThreadPool(4, daemon("ephemera-upload-fetch-"));
  }

  private static java.util.concurrent.ThreadFactory daemon(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  static boolean validId(String id) {
    return id != null && ID.matcher(id).matches();
  }

  /** The job's session {@code id}, opened now if need be; empty when the id is invalid or too many are open. */
  Optional<Session> open(String job, String id) {
    if (!validId(id)) {
      return Optional.empty();
    }
    String key = job + "/" + id;
    Session existing = sessions.get(key);
    if (existing != null) {
      existing.touch();
      return Optional.of(existing);
    }
    expireIdle();
    if (sessions.size() >= maxSessions) {
      return Optional.empty();
    }
    Session created = sessions.computeIfAbsent(key, k -> new Session(k));
    created.touch();
    return Optional.of(created);
  }

  /** The job's session {@code id} if this worker has it. */
  Optional<Session> find(String job, String id) {
    if (!validId(id)) {
      return Optional.empty();
    }
    Session s = sessions.get(job + "/" + id);
    if (s != null) {
      s.touch();
    }
    return Optional.ofNullable(s);
  }

  int open() {
    return sessions.size();
  }

  long heldBytes() {
    return held.get();
  }

  private void expireIdle() {
    long now = System.nanoTime();
    for (Iterator<Session> it = sessions.values().iterator(); it.hasNext(); ) {
      Session s = it.next();
      if (now - s.lastUsed > idleLimit.toNanos()) {
        it.remove();
        s.cancel("idle for more than " + idleLimit);
      }
    }
  }

  /** One persist's upload session. Thread-safe: requests of the persist arrive on several threads at once. */
  final class Session {
    private static final int AHEAD = 8;

    private final String key;
    /** Chunk names by stream position, as the client announced them; null where not announced yet. */
    private final List<String> order = new ArrayList<>();
    /** What the digester will hash for a chunk, by name; completed when known. */
    private final Map<String, CompletableFuture<Bytes>> sources = new ConcurrentHashMap<>();
    private final CompletableFuture<Digests> result = new CompletableFuture<>();
    /** Bytes held for this session (guarded by this). */
    private long heldHere;
    private volatile long lastUsed = System.nanoTime();
    private volatile String broken;
    /** Set by {@link #finish}: the number of chunks in the stream. */
    private int total = -1;

    private Session(String key) {
      this.key = key;
      digesters.execute(this::digest);
    }

    private void touch() {
      lastUsed = System.nanoTime();
    }

    private CompletableFuture<Bytes> source(String sha) {
      return sources.computeIfAbsent(sha, s -> new CompletableFuture<>());
    }

    /** The client's stream positions {@code first, first+1, ...} hold {@code shas}. */
    void order(long first, List<String> shas) {
      if (first < 0 || first > Integer.MAX_VALUE - shas.size()) {
        cancel("position " + first + " out of range");
        return;
      }
      synchronized (this) {
        if (total >= 0) {
          return; // finished: a late retry of a batch changes nothing
        }
        int at = (int) first;
        while (order.size() < at + shas.size()) {
          order.add(null);
        }
        for (int i = 0; i < shas.size(); i++) {
          String earlier = order.set(at + i, shas.get(i));
          if (earlier != null && !earlier.equals(shas.get(i))) {
            cancelLocked("position " + (at + i) + " announced as two different chunks");
            return;
          }
          source(shas.get(i));
        }
        notifyAll();
      }
    }

    /** These chunks are in the store: the digester reads them from there. */
    void present(Collection<String> shas) {
      for (String sha : shas) {
        source(sha).complete(Bytes.IN_STORE);
      }
    }

    /**
     * A chunk this worker verified; {@code storedHere} when this worker stored {@code frame} (else the store had the
     * chunk already, maybe as another frame, and the digester must read what is stored).
     */
    void uploaded(String sha, byte[] frame, byte[] raw, boolean storedHere) {
      long size = (long) frame.length + raw.length;
      synchronized (this) {
        CompletableFuture<Bytes> f = source(sha);
        if (broken != null || f.isDone() || !storedHere || held.get() + size > maxHeldBytes) {
          f.complete(Bytes.IN_STORE);
          return;
        }
        held.addAndGet(size);
        heldHere += size;
        f.complete(new Bytes(frame, raw));
      }
    }

    /** After the digester hashed a held chunk: a repeat later in the stream is read back rather than held. */
    private synchronized void hashed(String sha) {
      CompletableFuture<Bytes> f = sources.get(sha);
      Bytes b = f == null ? null : f.getNow(null);
      if (broken == null && b != null && b.raw() != null) {
        sources.put(sha, CompletableFuture.completedFuture(Bytes.IN_STORE));
        long size = (long) b.frame().length + b.raw().length;
        heldHere -= size;
        held.addAndGet(-size);
      }
    }

    /**
     * The digests of the stream whose chunks the manifest lists, or empty when this session cannot vouch for them (the
     * order differs, it broke, or it took longer than {@code wait}); the caller then computes the full digest. Every
     * upload has been answered before a client registers, so a chunk still unaccounted for is read from the store.
     */
    Optional<Digests> finish(List<Manifest.Chunk> chunks, Duration wait) {
      try {
        synchronized (this) {
          if (broken != null) {
            return Optional.empty();
          }
          if (order.size() != chunks.size()) {
            cancelLocked("the manifest lists " + chunks.size() + " chunks, the uploads announced " + order.size());
            return Optional.empty();
          }
          for (int i = 0; i < chunks.size(); i++) {
            if (!chunks.get(i).sha256().equals(order.get(i))) {
              cancelLocked("chunk " + i + " of the manifest is not the one announced");
              return Optional.empty();
            }
          }
          total = chunks.size();
          notifyAll();
        }
        sources.values().forEach(f -> f.complete(Bytes.IN_STORE));
        Digests d = result.get(wait.toMillis(), TimeUnit.MILLISECONDS);
        for (int i = 0; i < chunks.size(); i++) {
          if (d.rawSizes().get(i) != chunks.get(i).rawSize()) {
            return Optional.empty(); // the full digest names the mismatch
          }
        }
        return Optional.of(d);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return Optional.empty();
      } catch (ExecutionException | TimeoutException e) {
        LOGGER.atInfo().addKeyValue("session", key).addKeyValue("reason", String.valueOf(e.getCause()))
            .log("upload session digest not used; computing the full digest");
        return Optional.empty();
      } finally {
        cancel(null);
      }
    }

    /** Stops the digester and frees what it held; {@code why} is logged (null: finished normally). */
    void cancel(String why) {
      synchronized (this) {
        cancelLocked(why);
      }
    }

    private void cancelLocked(String why) {
      if (broken == null) {
        broken = why == null ? "finished" : why;
        if (why != null) {
          LOGGER.atDebug().addKeyValue("session", key).addKeyValue("reason", why).log("upload session dropped");
        }
      }
      sessions.remove(key, this);
      notifyAll();
      result.completeExceptionally(new IllegalStateException(broken));
      sources.values().forEach(f -> f.complete(Bytes.IN_STORE));
      sources.clear();
      held.addAndGet(-heldHere);
      heldHere = 0;
    }

    /** The chunk name at {@code position}, waiting for it to be announced; null once the stream is complete. */
    private String awaitPosition(int position) throws InterruptedException {
      synchronized (this) {
        while (true) {
          if (broken != null) {
            throw new IllegalStateException(broken);
          }
          if (total >= 0 && position >= total) {
            return null;
          }
          if (position < order.size() && order.get(position) != null) {
            return order.get(position);
          }
          wait(1000);
          if (System.nanoTime() - lastUsed > idleLimit.toNanos()) {
            cancelLocked("idle for more than " + idleLimit);
          }
        }
      }
    }

    /**
     * The digester: hashes the chunks in stream order as their bytes become available, and hands their raw bytes to
     * the stream's listing (the entries and their sha256, as the registration's full digest lists them).
     */
    private void digest() {
      StreamListing listing = new StreamListing(limits, "ephemera-upload-list");
      try {
        MessageDigest tar = MessageDigest.getInstance("SHA-256");
        MessageDigest archive = MessageDigest.getInstance("SHA-256");
        List<Long> rawSizes = new ArrayList<>();
        List<Long> storedSizes = new ArrayList<>();
        long tarSize = 0;
        long archiveSize = 0;
        ArrayDeque<CompletableFuture<Bytes>> ahead = new ArrayDeque<>();
        CompletableFuture<Void> archived = CompletableFuture.completedFuture(null);
        ArrayDeque<CompletableFuture<Void>> archiving = new ArrayDeque<>();
        int scheduled = 0;
        int position = 0;
        while (true) {
          // Schedule what is known ahead (without waiting), then wait for the next position only if nothing is.
          while (ahead.size() < AHEAD && scheduled < knownPrefix()) {
            ahead.addLast(schedule(orderAt(scheduled++)));
          }
          if (ahead.isEmpty()) {
            String sha = awaitPosition(position);
            if (sha == null) {
              break;
            }
            continue;
          }
          Bytes b = awaitBytes(ahead.removeFirst());
          String sha = orderAt(position);
          // The two digests on two threads: after a persist that reused most chunks, the registration waits for this.
          byte[] frame = b.frame();
          archived = archived.thenRunAsync(() -> archive.update(frame), archiveDigesters);
          archiving.addLast(archived);
          while (archiving.size() > AHEAD) {
            archiving.removeFirst().get();
          }
          tar.update(b.raw());
          listing.accept(b.raw());
          rawSizes.add((long) b.raw().length);
          storedSizes.add((long) b.frame().length);
          tarSize += b.raw().length;
          archiveSize += b.frame().length;
          position++;
          hashed(sha);
        }
        archived.get();
        StreamListing.Outcome listed = listing.finish();
        HexFormat hex = HexFormat.of();
        result.complete(
            new Digests(hex.formatHex(tar.digest()), tarSize, hex.formatHex(archive.digest()), archiveSize, rawSizes,
                storedSizes, listed));
      } catch (Throwable e) {
        result.completeExceptionally(e);
        cancel(String.valueOf(e));
      } finally {
        listing.close();
      }
    }

    private synchronized int knownPrefix() {
      int n = 0;
      while (n < order.size() && order.get(n) != null) {
        n++;
      }
      return n;
    }

    private synchronized String orderAt(int position) {
      return order.get(position);
    }

    /** The bytes of {@code sha} once known: held ones as they are, others fetched from the store (ahead, in parallel). */
    private CompletableFuture<Bytes> schedule(String sha) {
      return source(sha).thenComposeAsync(
          b -> b.raw() != null ? CompletableFuture.completedFuture(b) : CompletableFuture.supplyAsync(() -> fetch(sha), fetchers),
          Runnable::run);
    }

    private Bytes fetch(String sha) {
      if (broken != null) {
        throw new IllegalStateException(broken);
      }
      byte[] frame =
          store.getBytes(keyOf.apply(sha)).orElseThrow(() -> new IllegalStateException("chunk " + sha + " is not stored"));
      try {
        return new Bytes(frame, ChunkFrames.decompressStored(sha, frame));
      } catch (ArchiveException e) {
        throw new IllegalStateException(e.getMessage(), e);
      }
    }

    private Bytes awaitBytes(CompletableFuture<Bytes> f) throws InterruptedException, ExecutionException {
      while (true) {
        try {
          return f.get(1, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
          if (broken != null) {
            throw new IllegalStateException(broken);
          }
          if (System.nanoTime() - lastUsed > idleLimit.toNanos()) {
            cancel("idle for more than " + idleLimit);
          }
        }
      }
    }
  }
}
