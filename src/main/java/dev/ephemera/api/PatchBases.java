package dev.ephemera.api;

import dev.ephemera.archive.ArchiveException;
import dev.ephemera.archive.ChunkFrames;
import dev.ephemera.archive.ChunkPatch;
import dev.ephemera.catalog.Catalog;
import dev.ephemera.store.ObjectStore;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;

/**
 * The tar streams of sets that chunk patches copy from ({@link ChunkPatch}): a set's chunk layout from the catalog and
 * the raw bytes of its chunks from the store, both kept for a while, because the patches of one persist copy from the
 * same set, and neighbouring ones often from the same chunk. Raw chunks are held up to a byte bound, layouts for the
 * last few sets; a layout never changes once a set is registered.
 */
final class PatchBases {
  /** A set's chunks in stream order: their names and where each starts ({@code starts[n]} is the stream's size). */
  private record Layout(String[] shas, long[] starts) {}

  private final Catalog catalog;
  private final ObjectStore store;
  private final Function<String, String> keyOf;
  private final long maxBytes;
  private final Map<String, Layout> layouts = new LinkedHashMap<>(16, 0.75f, true);
  private final LinkedHashMap<String, CompletableFuture<byte[]>> raws = new LinkedHashMap<>(64, 0.75f, true);
  private long heldBytes;

  PatchBases(Catalog catalog, ObjectStore store, Function<String, String> keyOf, long maxBytes) {
    this.catalog = catalog;
    this.store = store;
    this.keyOf = keyOf;
    this.maxBytes = maxBytes;
  }

  /** The tar stream of set {@code setId} (one the caller checked the job may read). */
  ChunkPatch.Base of(String setId) {
    Layout layout = layout(setId);
    return ChunkPatch.stream(setId, layout.shas(), layout.starts(), this::raw);
  }

  private Layout layout(String setId) {
    synchronized (layouts) {
      Layout known = layouts.get(setId);
      if (known != null) {
        return known;
      }
    }
    record Row(String sha, long offset, long size) {}
    List<Row> rows =
        catalog
            .jdbi()
            .withHandle(
                h ->
                    h.createQuery(
                            "select chunk_sha256, raw_offset, raw_size from set_chunks where set_id = :s order by ord")
                        .bind("s", setId)
                        .map((rs, ctx) -> new Row(rs.getString(1), rs.getLong(2), rs.getLong(3)))
                        .list());
    String[] shas = new String[rows.size()];
    long[] at = new long[rows.size() + 1];
    for (int i = 0; i < rows.size(); i++) {
      shas[i] = rows.get(i).sha();
      at[i] = rows.get(i).offset();
      at[i + 1] = rows.get(i).offset() + rows.get(i).size();
    }
    Layout layout = new Layout(shas, at);
    synchronized (layouts) {
      layouts.put(setId, layout);
      if (layouts.size() > 16) {
        Iterator<String> eldest = layouts.keySet().iterator();
        eldest.next();
        eldest.remove();
      }
    }
    return layout;
  }

  /** The raw bytes of stored chunk {@code sha}, fetched once while held. */
  private byte[] raw(String sha) {
    CompletableFuture<byte[]> mine = new CompletableFuture<>();
    CompletableFuture<byte[]> known;
    synchronized (raws) {
      known = raws.putIfAbsent(sha, mine);
    }
    if (known == null) {
      try {
        byte[] frame =
            store.getBytes(keyOf.apply(sha))
                .orElseThrow(() -> new ApiException(409, "base_missing", "chunk " + sha + " is not in the store"));
        byte[] raw;
        try {
          raw = ChunkFrames.decompressStored(sha, frame);
        } catch (ArchiveException e) {
          throw new ApiException(409, "base_missing", e.getMessage());
        }
        mine.complete(raw);
        synchronized (raws) {
          heldBytes += raw.length;
          evict();
        }
        return raw;
      } catch (RuntimeException e) {
        synchronized (raws) {
          raws.remove(sha, mine);
        }
        mine.completeExceptionally(e);
        throw e;
      }
    }
    try {
      return known.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    }
  }

  /** Drops the least recently used chunks (only fetched ones) while more than the bound is held. */
  private void evict() {
    for (Iterator<CompletableFuture<byte[]>> it = raws.values().iterator(); heldBytes > maxBytes && it.hasNext(); ) {
      CompletableFuture<byte[]> f = it.next();
      byte[] raw = f.getNow(null);
      if (raw != null) {
        heldBytes -= raw.length;
        it.remove();
      }
    }
  }
}
