package dev.ephemera.api;

import com.github.luben.zstd.Zstd;
import dev.ephemera.archive.ArchiveException;
import dev.ephemera.archive.Concurrency;
import dev.ephemera.archive.Limits;
import dev.ephemera.archive.Manifest;
import dev.ephemera.archive.StreamListing;
import dev.ephemera.catalog.Catalog;
import dev.ephemera.catalog.CatalogTx;
import dev.ephemera.catalog.ChunkRefRow;
import dev.ephemera.catalog.JobRow;
import dev.ephemera.catalog.RegistrationDao;
import dev.ephemera.catalog.RegistrationRow;
import dev.ephemera.catalog.SetRow;
import dev.ephemera.catalog.SetStatus;
import dev.ephemera.event.Discarded;
import dev.ephemera.event.EventData;
import dev.ephemera.metrics.Meters;
import dev.ephemera.store.ObjectStore;
import dev.ephemera.worker.Faults;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a persist's manifest into a pending set whose {@code tar_sha256} and {@code archive_sha256} are this worker's
 * own, computed from the stored chunks (or, when this worker saw the whole upload session, from the chunks as they
 * arrived), and whose entries are the ones this worker listed from that stream ({@link StreamListing}: every file's
 * sha256, and the checks a restore makes, so a stream every restore would refuse never becomes a set).
 *
 * <p>Two ways: {@link #registerNow} digests first and answers with the set (the persist waits for the digests), and
 * {@link #accept} only checks that every chunk is stored, records a {@code registrations} row and answers; the
 * digests then run here in the background ({@link #verifyLater}). A verified registration becomes the pending set,
 * under the same id, in the transaction that deletes its row; one whose chunks do not make the stream the manifest
 * describes is dropped with an {@code ephemera.discarded} event. Nothing reads a registration as a set: it cannot go
 * live, be restored or be reported before it is verified, and {@link #settle} (run before a {@code job.completed} is
 * applied) makes the completion wait for its job's registrations. A worker that stops with registrations in flight
 * leaves their rows; {@link #resume} at start, or the job's completion, verifies them again from the store.
 */
public final class SetRegistrar implements AutoCloseable {
  private static final Logger LOGGER = LoggerFactory.getLogger(SetRegistrar.class);

  /** Frames fetched and decompressed ahead of the in-order hashing (memory: this many chunks). */
  private static final int DIGEST_WINDOW = 8;

  private static final int DIGEST_THREADS = 4;

  /** Registrations verified at once in the background; {@link #settle} verifies on its own thread besides. */
  private static final int VERIFY_THREADS = 2;

  /** What a persist asks to register. */
  record Request(
      String setId,
      String jobId,
      String owner,
      String name,
      String scope,
      String when,
      Manifest manifest,
      String uploadSession,
      Instant at) {

    /** The registration a stopped worker (or another replica) left, its manifest parsed again. */
    static Request of(RegistrationRow row) {
      return new Request(row.setId(), row.jobId(), row.owner(), row.name(), row.scope(), row.when(),
          Manifest.fromJson(row.manifestJson()), row.uploadSession(), row.createdAt());
    }

    /** Its {@code registrations} row. */
    RegistrationRow row() {
      return new RegistrationRow(setId, jobId, owner, name, scope, when, uploadSession, manifest.toJson(), at);
    }
  }

  /** The stream the stored chunks make, as this worker computed it, and its entries as this worker listed them. */
  record Digests(
      String tarSha256,
      long tarSize,
      String archiveSha256,
      long archiveSize,
      List<Long> storedSizes,
      StreamListing.Outcome listed) {}

  /** A registration accepted: what the stored chunks' frames add up to (the worker's record of each upload). */
  record Accepted(String setId, long archiveSize) {}

  private final Catalog catalog;
  private final ObjectStore store;
  private final UploadSessions uploads;
  private final BiConsumer<CatalogTx, EventData> emit;
  private final Clock clock;
  private final Meters meters;
  private final Faults faults;
  private final Duration sessionWait;
  /** What a set's stream may hold: a restore with these limits takes every set this worker verifies. */
  private final Limits limits;
  private final ExecutorService background = Concurrency.pool("verify", VERIFY_THREADS);
  /** Verifications running or queued in this process, by set id (one per registration however many ask). */
  private final Map<String, FutureTask<Void>> verifying = new ConcurrentHashMap<>();

  SetRegistrar(
      Catalog catalog,
      ObjectStore store,
      UploadSessions uploads,
      BiConsumer<CatalogTx, EventData> emit,
      Clock clock,
      Meters meters,
      Faults faults,
      Duration sessionWait,
      Limits limits) {
    this.catalog = catalog;
    this.store = store;
    this.uploads = uploads;
    this.emit = emit;
    this.clock = clock;
    this.meters = meters;
    this.faults = faults;
    this.sessionWait = sessionWait;
    this.limits = limits;
    meters.verificationsInFlight(verifying);
  }

  /** Digests the stream, then records the pending set; a manifest the chunks do not make is refused (422). */
  SetRow registerNow(Request request) throws IOException {
    Digests digests = digests(request);
    return insert(request, digests, false, System.nanoTime()).orElseThrow();
  }

  /**
   * Records the registration after checking that every chunk it names is stored (a missing one is refused now, 422),
   * and starts verifying it in the background.
   */
  Accepted accept(Request request) {
    List<String> shas = request.manifest().chunks().stream().map(Manifest.Chunk::sha256).toList();
    long archiveSize =
        catalog.inTransaction(
            tx -> {
              requireOpen(tx, request.jobId());
              Map<String, Long> stored = tx.chunks().touchStored(new HashSet<>(shas), request.at());
              long size = 0;
              for (String sha : shas) {
                Long s = stored.get(sha);
                if (s == null) {
                  throw new ApiException(422, "missing_chunk", "chunk " + sha + " is not stored; upload it first");
                }
                size += s;
              }
              tx.registrations().insert(request.row());
              return size;
            });
    verifyLater(request.setId(), request);
    return new Accepted(request.setId(), archiveSize);
  }

  /**
   * Queues the registration's verification on the background threads.
   *
   * @param known the request as this worker accepted it (null: read the row), so it is not read and parsed again
   */
  private void verifyLater(String setId, Request known) {
    background.execute(
        () -> {
          try {
            verify(setId, known);
          } catch (IOException | RuntimeException e) {
            // the row stays: the job's completion (settle) or the next start (resume) verifies it again
            LOGGER.atWarn().addKeyValue("set_id", setId).setCause(e).log("verifying a registration failed");
          }
        });
  }

  /** Queues every registration in the catalog (at start: those a stopped worker left). */
  public void resume() {
    List<String> ids = catalog.jdbi().withExtension(RegistrationDao.class, RegistrationDao::ids);
    if (!ids.isEmpty()) {
      LOGGER.atInfo().addKeyValue("registrations", ids.size()).log("verifying the registrations an earlier run left");
    }
    ids.forEach(id -> verifyLater(id, null));
  }

  /**
   * Verifies, on this thread or by waiting for the one already at it, every registration of these jobs, so that
   * applying their completions finds their sets pending (or knows they were dropped).
   *
   * @throws UncheckedIOException when the store could not be read: nothing was settled for that registration, and the
   *     caller retries later
   */
  public void settle(Collection<String> jobIds) {
    if (jobIds.isEmpty()) {
      return;
    }
    for (String setId : catalog.jdbi().withExtension(RegistrationDao.class, d -> d.idsForJobs(jobIds))) {
      try {
        verify(setId, null); // joins this worker's verification in flight; otherwise reads the row
      } catch (IOException e) {
        throw new UncheckedIOException("verifying set " + setId, e);
      }
    }
  }

  /**
   * Verifies the registration once, however many threads ask at the same time; a later call finds it gone.
   *
   * @param known the registration, when the caller has it at hand (null: read it)
   */
  private void verify(String setId, Request known) throws IOException {
    FutureTask<Void> task =
        verifying.computeIfAbsent(
            setId,
            id ->
                new FutureTask<>(
                    () -> {
                      verifyNow(id, known);
                      return null;
                    }));
    task.run(); // does nothing when another thread runs it or ran it
    try {
      task.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while verifying set " + setId);
    } catch (ExecutionException e) {
      throw Concurrency.rethrow(e.getCause());
    } finally {
      verifying.remove(setId, task);
    }
  }

  private void verifyNow(String setId, Request known) throws IOException {
    Request request;
    if (known == null) {
      Optional<RegistrationRow> found = catalog.jdbi().withExtension(RegistrationDao.class, d -> d.find(setId));
      if (found.isEmpty()) {
        return; // settled already, here or by another worker
      }
      request = Request.of(found.get());
    } else if (catalog.jdbi().withExtension(RegistrationDao.class, d -> d.exists(setId))) {
      request = known;
    } else {
      return;
    }
    faults.at(Faults.BEFORE_VERIFY);
    long start = System.nanoTime();
    Digests digests;
    try {
      digests = digests(request);
    } catch (ApiException e) {
      String reason =
          switch (e.code()) {
            case "missing_chunk" -> "chunk_missing";
            case "unsafe_archive" -> "unsafe_archive";
            default -> "digest_mismatch";
          };
      LOGGER.atWarn().addKeyValue("set_id", setId).addKeyValue("reason", reason).log(e.getMessage());
      drop(request, reason);
      meters.verification(reason, System.nanoTime() - start);
      return;
    }
    if (insert(request, digests, true, start).isPresent()) {
      meters.verification("verified", System.nanoTime() - start);
    }
  }

  /** Takes the registration out with an {@code ephemera.discarded} event (once, whoever else tries). */
  private void drop(Request request, String reason) {
    catalog.useTransaction(
        tx -> {
          if (tx.registrations().delete(request.setId())) {
            emit.accept(tx, discarded(request, reason));
          }
        });
  }

  private static Discarded discarded(Request request, String reason) {
    return new Discarded(request.jobId(), request.owner(), request.name(), request.setId(), request.scope(), reason);
  }

  private static void requireOpen(CatalogTx tx, String jobId) {
    JobRow job = tx.jobs().find(jobId).orElseThrow();
    if (job.completedAt() != null) {
      throw ApiException.conflict("job " + job.jobId() + " has already completed; it cannot persist any more");
    }
  }

  /**
   * Records the pending set with the worker's digests. A persist of the same name in the same job replaces the older
   * one, by set id (registrations may settle out of order).
   *
   * @param registered whether the set comes from a registration: its row is taken out in the same transaction, and a
   *     job that completed meanwhile drops it (empty) instead of refusing it
   * @param startNanos when the verification began (for the meter of a registration dropped here)
   */
  private Optional<SetRow> insert(Request request, Digests digests, boolean registered, long startNanos) {
    Manifest verified =
        request.manifest()
            .withDigests(digests.tarSha256(), digests.archiveSha256())
            .withFiles(digests.listed().listing().entries());
    List<ChunkRefRow> refs = new ArrayList<>();
    long offset = 0;
    for (int i = 0; i < verified.chunks().size(); i++) {
      Manifest.Chunk c = verified.chunks().get(i);
      refs.add(new ChunkRefRow(i, c.sha256(), offset, c.rawSize(), digests.storedSizes().get(i)));
      offset += c.rawSize();
    }
    // Write the manifest object before the catalog row: the catalog never names a set whose bytes are incomplete.
    String manifestJson = verified.toJson();
    store.put(JobApi.manifestKey(request.setId()), manifestJson.getBytes(StandardCharsets.UTF_8));
    SetRow row =
        new SetRow(
            request.setId(),
            request.owner(),
            request.name(),
            request.scope(),
            SetStatus.PENDING,
            null,
            request.jobId(),
            request.at(),
            null,
            null,
            verified.root(),
            request.when(),
            verified.tarSha256(),
            verified.tarSize(),
            digests.archiveSha256(),
            digests.archiveSize(),
            (int) verified.fileCount(),
            refs.size(),
            manifestJson,
            null);
    Optional<SetRow> inserted =
        catalog.inTransaction(
            tx -> {
              if (registered) {
                if (!tx.registrations().delete(request.setId())) {
                  return Optional.empty(); // another worker settled it
                }
                JobRow job = tx.jobs().find(request.jobId()).orElseThrow();
                if (job.completedAt() != null) {
                  emit.accept(tx, discarded(request, "job_completed_first"));
                  meters.verification("job_completed", System.nanoTime() - startNanos);
                  return Optional.empty();
                }
              } else {
                requireOpen(tx, request.jobId());
              }
              boolean replaced = false;
              for (SetRow other : tx.sets().pendingForJob(request.jobId())) {
                if (other.name().equals(request.name())) {
                  if (other.setId().compareTo(request.setId()) < 0) {
                    tx.sets().markDiscarded(other.setId(), "replaced by a later persist in the same job");
                  } else {
                    replaced = true;
                  }
                }
              }
              tx.sets().insertPending(row, refs);
              if (replaced) {
                tx.sets().markDiscarded(row.setId(), "replaced by a later persist in the same job");
              }
              return Optional.of(row);
            });
    if (inserted.isEmpty()) {
      try {
        store.delete(JobApi.manifestKey(request.setId()));
      } catch (RuntimeException e) {
        LOGGER.atWarn().addKeyValue("set_id", request.setId()).setCause(e).log("could not delete a dropped manifest");
      }
    }
    return inserted;
  }

  /**
   * The worker's digests of the stream: from the upload session when this worker saw every chunk of it arrive,
   * otherwise by reading the stored frames back. A manifest that states a {@code tar_sha256} must agree (the CLI
   * leaves it out: it is filled in here).
   *
   * @throws ApiException 422 when the stored chunks do not make the stream the manifest describes
   */
  private Digests digests(Request request) throws IOException {
    Manifest manifest = request.manifest();
    Optional<UploadSessions.Digests> early =
        Optional.ofNullable(request.uploadSession())
            .flatMap(id -> uploads.find(request.jobId(), id))
            .flatMap(s -> s.finish(manifest.chunks(), sessionWait));
    Digests digests =
        early.isPresent()
            ? new Digests(early.get().tarSha256(), early.get().tarSize(), early.get().archiveSha256(),
                early.get().archiveSize(), early.get().storedSizes(), early.get().listed())
            : digest(manifest);
    boolean tarShaDiffers = manifest.tarSha256() != null && !digests.tarSha256().equals(manifest.tarSha256());
    if (tarShaDiffers || digests.tarSize() != manifest.tarSize()) {
      throw new ApiException(
          422,
          "manifest_mismatch",
          "the stored chunks make a tar stream of " + digests.tarSize() + " bytes with sha256 " + digests.tarSha256()
              + ", but the manifest says " + manifest.tarSize() + " bytes"
              + (manifest.tarSha256() == null ? "" : " with " + manifest.tarSha256()));
    }
    checkEntries(manifest, digests);
    return digests;
  }

  /**
   * The stream must be one a restore takes, and the manifest's entries the ones this worker listed from it (a manifest
   * without them, as the CLI registers it, leaves them to this listing; its count of entries that are not directories
   * must still agree): every field of a set's manifest is then the worker's, not the persisting job's word.
   *
   * @throws ApiException 422 {@code unsafe_archive} for a stream every restore would refuse (a name leaving the root, a
   *     device, a link outside, too many entries or bytes, too high a compression ratio, ...), {@code
   *     manifest_mismatch} for entries the stream does not hold
   */
  private void checkEntries(Manifest manifest, Digests digests) {
    StreamListing.Outcome listed = digests.listed();
    try {
      if (listed.refusal() != null) {
        throw listed.refusal();
      }
      limits.checkRatio(digests.tarSize(), digests.archiveSize());
    } catch (ArchiveException e) {
      throw new ApiException(422, "unsafe_archive", "the stored stream is one a restore refuses: " + e.getMessage());
    }
    List<Manifest.FileEntry> stream = listed.listing().entries();
    List<Manifest.FileEntry> claimed = manifest.files() == null ? stream : manifest.files();
    long files = stream.stream().filter(e -> e.type() != Manifest.EntryType.DIR).count();
    if (!stream.equals(claimed) || files != manifest.fileCount()) {
      throw new ApiException(
          422, "manifest_mismatch", "the manifest's entries are not the stream's: " + difference(claimed, stream, files,
              manifest.fileCount()));
    }
  }

  /** Where the manifest's entries first differ from the stream's. */
  private static String difference(
      List<Manifest.FileEntry> claimed, List<Manifest.FileEntry> stream, long files, long claimedFiles) {
    for (int i = 0; i < Math.min(claimed.size(), stream.size()); i++) {
      if (!claimed.get(i).equals(stream.get(i))) {
        return "entry " + i + " is " + describe(stream.get(i)) + " in the stream, the manifest says "
            + describe(claimed.get(i));
      }
    }
    if (claimed.size() != stream.size()) {
      return "the stream holds " + stream.size() + " entries, the manifest lists " + claimed.size();
    }
    return "the stream holds " + files + " entries that are not directories, the manifest counts " + claimedFiles;
  }

  private static String describe(Manifest.FileEntry e) {
    return "'" + e.path() + "' (" + e.type().name().toLowerCase(java.util.Locale.ROOT) + ", " + e.size()
        + " bytes, mode " + Integer.toOctalString(e.mode()) + ", mtime " + e.mtime()
        + (e.sha256() == null ? "" : ", sha256 " + e.sha256())
        + (e.linkTarget() == null ? "" : ", to '" + e.linkTarget() + "'") + ")";
  }

  /**
   * Reads the stored frames once: archive digest, (decompressed) tar digest and size, and the stream's listing (on a
   * thread of its own). Fetching and decompressing run ahead on a few threads (a store round trip per chunk would
   * otherwise dominate a persist); only the two sha256 updates and the hand-over to the listing are in stream order, on
   * this thread.
   */
  private Digests digest(Manifest manifest) throws IOException {
    List<Manifest.Chunk> chunks = manifest.chunks();
    MessageDigest archive = sha256();
    MessageDigest tar = sha256();
    List<Long> storedSizes = new ArrayList<>(chunks.size());
    long archiveSize = 0;
    long tarSize = 0;
    ExecutorService pool = Concurrency.pool("digest", DIGEST_THREADS);
    StreamListing listing = new StreamListing(limits, "ephemera-digest-list");
    try {
      ArrayDeque<Future<byte[][]>> ahead = new ArrayDeque<>();
      int next = 0;
      for (int i = 0; i < chunks.size(); i++) {
        while (ahead.size() < DIGEST_WINDOW && next < chunks.size()) {
          Manifest.Chunk c = chunks.get(next++);
          ahead.addLast(pool.submit(() -> frameAndRaw(c)));
        }
        byte[][] frameAndRaw = Concurrency.await(ahead.removeFirst());
        archive.update(frameAndRaw[0]);
        tar.update(frameAndRaw[1]);
        listing.accept(frameAndRaw[1]);
        storedSizes.add((long) frameAndRaw[0].length);
        archiveSize += frameAndRaw[0].length;
        tarSize += frameAndRaw[1].length;
      }
      StreamListing.Outcome listed = listing.finish();
      return new Digests(hex(tar), tarSize, hex(archive), archiveSize, storedSizes, listed);
    } finally {
      pool.shutdownNow();
      listing.close();
    }
  }

  /** A stored frame and its raw bytes; the frame was verified against its name when it was uploaded. */
  private byte[][] frameAndRaw(Manifest.Chunk c) {
    byte[] frame =
        store
            .getBytes(JobApi.chunkKey(c.sha256()))
            .orElseThrow(
                () -> new ApiException(422, "missing_chunk", "chunk " + c.sha256() + " is not stored; upload it first"));
    long declared;
    try {
      declared = Zstd.findFrameCompressedSize(frame) == frame.length ? Zstd.getFrameContentSize(frame) : -1;
    } catch (RuntimeException e) {
      declared = -1;
    }
    if (declared != c.rawSize()) {
      throw new ApiException(
          422,
          "manifest_mismatch",
          "stored chunk " + c.sha256() + " holds " + (declared < 0 ? "an unreadable frame" : declared + " bytes")
              + ", but the manifest says " + c.rawSize());
    }
    return new byte[][] {frame, Zstd.decompress(frame, c.rawSize())};
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String hex(MessageDigest digest) {
    return HexFormat.of().formatHex(digest.digest());
  }

  /** Stops the background verifications; their rows stay for the next start. */
  @Override
  public void close() {
    background.shutdownNow();
  }
}
