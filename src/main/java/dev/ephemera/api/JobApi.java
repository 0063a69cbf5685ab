package dev.ephemera.api;

import dev.ephemera.archive.ArchiveException;
import dev.ephemera.archive.ChunkFrames;
import dev.ephemera.archive.ChunkPatch;
import dev.ephemera.archive.Concurrency;
import dev.ephemera.archive.Limits;
import dev.ephemera.archive.Manifest;
import dev.ephemera.auth.DownloadLinks;
import dev.ephemera.auth.Signer;
import dev.ephemera.catalog.Catalog;
import dev.ephemera.catalog.CatalogTx;
import dev.ephemera.catalog.JobRow;
import dev.ephemera.catalog.SetRow;
import dev.ephemera.catalog.SetStatus;
import dev.ephemera.catalog.UseKind;
import dev.ephemera.catalog.UseRow;
import dev.ephemera.event.EventData;
import dev.ephemera.event.Ulid;
import dev.ephemera.metrics.Meters;
import dev.ephemera.policy.Access;
import dev.ephemera.policy.Decision;
import dev.ephemera.policy.Decisions;
import dev.ephemera.policy.Scope;
import dev.ephemera.store.NoSuchObjectException;
import dev.ephemera.store.ObjectStore;
import dev.ephemera.worker.Faults;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.function.BiConsumer;
import java.util.regex.Pattern;
import org.jdbi.v3.core.mapper.reflect.ConstructorMapper;

/**
 * The HTTP API the job-side CLI talks to, and the signed download links. Every job call carries a job token naming
 * the job in the path; what the job may read and write comes from the catalog's record of its {@code job.started}
 * (its read chain and write scope), never from the request.
 *
 * <p>Nothing a job uploads is taken on trust: each chunk is decompressed and hashed before it is stored under its
 * name, and every registered set's tar and archive digests are computed here from the stored frames (before the
 * answer, or after it in the background, see {@link SetRegistrar}; either way before the set can go live), so the
 * hashes in {@code ephemera.used} are the server's, not the job's.
 */
public final class JobApi {
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
  private static final Pattern SET_NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  private static final int MAX_MANIFEST_BYTES = 64 << 20;
  private static final int MAX_CHUNK_BODY = ChunkFrames.MAX_RAW_SIZE + (1 << 20);

  private final Catalog catalog;
  private final ObjectStore store;
  private final Signer signer;
  private final DownloadLinks links;
  private final String adminToken;
  private final Duration jobTokenTtl;
  private final Clock clock;
  private final Meters meters;
  /** Whether restoring jobs get presigned chunk URLs (when the store can sign them). */
  private final boolean directDownloads;
  /** Digests of persists in progress, computed as their chunks arrive (registration then only finishes them). */
  private final UploadSessions uploads;
  private final PatchBases patchBases;
  /** Turns manifests into pending sets with this worker's digests, now or in the background. */
  private final SetRegistrar registrar;

  /** Upload sessions open at once, and the raw and compressed bytes they may hold for their digests, in total. */
  static final int MAX_UPLOAD_SESSIONS = 64;

  static final long MAX_HELD_UPLOAD_BYTES = 128L << 20;

  static final Duration UPLOAD_SESSION_IDLE = Duration.ofMinutes(10);

  public JobApi(
      Catalog catalog,
      ObjectStore store,
      Signer signer,
      DownloadLinks links,
      String adminToken,
      Duration jobTokenTtl,
      Clock clock,
      Meters meters,
      boolean directDownloads,
      BiConsumer<CatalogTx, EventData> emit,
      Faults faults,
      Limits limits) {
    this.catalog = catalog;
    this.store = store;
    this.signer = signer;
    this.links = links;
    this.adminToken = adminToken;
    this.jobTokenTtl = jobTokenTtl;
    this.clock = clock;
    this.meters = meters;
    this.directDownloads = directDownloads;
    this.uploads =
        new UploadSessions(
            store, JobApi::chunkKey, MAX_UPLOAD_SESSIONS, MAX_HELD_UPLOAD_BYTES, UPLOAD_SESSION_IDLE, limits);
    this.patchBases = new PatchBases(catalog, store, JobApi::chunkKey, PATCH_BASE_BYTES);
    this.registrar =
        new SetRegistrar(catalog, store, uploads, emit, clock, meters, faults, UPLOAD_SESSION_IDLE, limits);
  }

  /** The registrar: the event applier settles a job's registrations with it before applying its completion. */
  public SetRegistrar registrar() {
    return registrar;
  }

  public static String chunkKey(String sha256) {
    return "chunks/" + sha256;
  }

  public static String manifestKey(String setId) {
    return "manifests/" + setId + ".json";
  }

  /** Registers the routes on {@code router}. */
  public void routes(HttpRouter router) {
    router
        .route("POST", "/v1/admin/tokens", this::mintToken)
        .route("GET", "/v1/jobs/{job}", this::job)
        .route("GET", "/v1/jobs/{job}/staged", this::staged)
        .route("GET", "/v1/jobs/{job}/sets/{name}", this::resolve)
        .route("POST", "/v1/jobs/{job}/chunks/present", this::present)
        .route("PUT", "/v1/jobs/{job}/chunks/{sha}", this::uploadChunk)
        .route("PUT", "/v1/jobs/{job}/chunks/{sha}/patch", this::uploadPatch)
        .route("POST", "/v1/jobs/{job}/sets", this::register)
        .route("GET", "/v1/jobs/{job}/sets/{set}/manifest", this::manifest)
        .route("GET", "/v1/jobs/{job}/sets/{set}/chunks/{sha}", this::chunk)
        .route("GET", "/v1/jobs/{job}/sets/{set}/chunk-urls", this::chunkUrls)
        .route("POST", "/v1/jobs/{job}/restores", this::restored)
        .route("GET", "/v1/sets/{set}/archive.tar.zst", this::archive);
  }

  // ---- admin ----

  record TokenRequest(String jobId, Long ttlSeconds) {}

  record TokenResponse(String token, String jobId, Instant expiresAt) {}

  private HttpRouter.Response mintToken(HttpRouter.Request request) throws IOException {
    requireAdmin(request);
    TokenRequest body = request.json(TokenRequest.class, 4096);
    if (body.jobId() == null || !Ulid.isValid(body.jobId())) {
      throw ApiException.badRequest("job_id must be a buildomat job id (a ULID)");
    }
    Duration ttl = body.ttlSeconds() == null ? jobTokenTtl : Duration.ofSeconds(body.ttlSeconds());
    if (ttl.isNegative() || ttl.isZero() || ttl.compareTo(Duration.ofDays(7)) > 0) {
      throw ApiException.badRequest("ttl_seconds must be between 1 and 604800");
    }
    Signer.JobToken token = signer.mintJobToken(body.jobId(), ttl);
    return HttpRouter.Response.json(201, new TokenResponse(token.token(), token.jobId(), token.expiresAt()));
  }

  void requireAdmin(HttpRouter.Request request) {
    String presented = request.bearer().orElse("");
    if (!Signer.constantTimeEquals(presented, adminToken)) {
      meters.denied("admin_token");
      throw ApiException.unauthorized("an admin token is required (Authorization: Bearer ...)");
    }
  }

  // ---- job calls ----

  /** The job the token names, which must be the job in the path, with its recorded access. */
  private record Caller(JobRow job, Access access) {}

  /**
   * How long {@link #caller} trusts the job row it last read. A persist makes a request per chunk, each of which read
   * the job's row (a Postgres round trip and Jdbi's mapping, 4% of the worker's CPU in a cold persist); what a caller
   * takes from it (owner, fork, read and write scopes) is fixed when the job starts, and whether the job has completed
   * is read again, in its transaction, where it matters (a set's registration). The token is checked every time.
   */
  private static final long CALLER_CACHE_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(5);

  private static final int CALLER_CACHE_MAX = 10_000;

  private record CachedCaller(Caller caller, long readAtNanos) {}

  private final Map<String, CachedCaller> callers = new java.util.concurrent.ConcurrentHashMap<>();

  private Caller caller(HttpRouter.Request request) {
    String jobId = request.param("job");
    Optional<String> tokenJob = signer.verifyJobToken(request.bearer().orElse(null));
    if (tokenJob.isEmpty()) {
      meters.denied("bad_token");
      throw ApiException.unauthorized("a valid job token is required (EPHEMERA_TOKEN); it may have expired");
    }
    if (!tokenJob.get().equals(jobId)) {
      meters.denied("other_job");
      throw ApiException.forbidden("this token belongs to job " + tokenJob.get() + ", not " + jobId);
    }
    long now = System.nanoTime();
    CachedCaller cached = callers.get(jobId);
    if (cached != null && now - cached.readAtNanos() < CALLER_CACHE_NANOS) {
      return cached.caller();
    }
    JobRow job =
        catalog
            .jdbi()
            .withExtension(dev.ephemera.catalog.JobDao.class, dao -> dao.find(jobId))
            .orElseThrow(
                () ->
                    new ApiException(
                        409,
                        "job_unknown",
                        "job " + jobId + " is not known yet: its job.started event has not been processed; retry"));
    List<Scope> reads = job.readScopes().stream().map(Scope::parse).toList();
    Optional<Scope> write = Optional.ofNullable(job.writeScope()).map(Scope::parse);
    Caller caller = new Caller(job, new Access(reads, write));
    if (callers.size() >= CALLER_CACHE_MAX) {
      callers.values().removeIf(c -> now - c.readAtNanos() >= CALLER_CACHE_NANOS);
      if (callers.size() >= CALLER_CACHE_MAX) {
        callers.clear();
      }
    }
    callers.put(jobId, new CachedCaller(caller, now));
    return caller;
  }

  /** Whether the caller may read {@code set}: its own, or a valid set of its owner in its read chain. */
  private int readLevel(Caller caller, SetRow set) {
    return readLevel(caller, set, false);
  }

  /**
   * As {@link #readLevel(Caller, SetRow)}; with {@code inFlight} an evicted set is still readable, so a restore that
   * resolved it before the collector evicted it can finish (its chunks are kept for the GC grace period).
   */
  private int readLevel(Caller caller, SetRow set, boolean inFlight) {
    if (!set.owner().equals(caller.job().owner())) {
      meters.denied("other_owner");
      throw ApiException.forbidden("set " + set.setId() + " belongs to another owner");
    }
    if (set.createdByJob().equals(caller.job().jobId())) {
      return -1;
    }
    int level = caller.access().fallbackLevel(Scope.parse(set.scope()));
    if (level < 0) {
      meters.denied("scope");
      throw ApiException.forbidden(
          "job " + caller.job().jobId() + " may not read scope " + set.scope() + " (it reads "
              + caller.access().reads() + ")");
    }
    boolean readable =
        set.status() == SetStatus.LIVE
            || set.status() == SetStatus.SUPERSEDED
            || (inFlight && set.status() == SetStatus.EVICTED);
    if (!readable) {
      throw new ApiException(410, "gone", "set " + set.setId() + " is " + set.status().db());
    }
    return level;
  }

  private SetRow findSet(String setId) {
    if (!Ulid.isValid(setId)) {
      throw ApiException.badRequest("not a set id: " + setId);
    }
    return catalog
        .jdbi()
        .withExtension(dev.ephemera.catalog.SetDao.class, dao -> dao.find(setId))
        .orElseThrow(() -> ApiException.notFound("no set " + setId));
  }

  /** What the job is, may read and write, and declared in its job file. */
  public record JobView(
      String jobId,
      String owner,
      String trigger,
      String headBranch,
      Integer pullRequest,
      boolean fork,
      String defaultBranch,
      List<String> readScopes,
      String writeScope,
      com.fasterxml.jackson.databind.JsonNode declared) {}

  private HttpRouter.Response job(HttpRouter.Request request) throws IOException {
    Caller caller = caller(request);
    JobRow job = caller.job();
    return HttpRouter.Response.ok(
        new JobView(
            job.jobId(),
            job.owner(),
            job.trigger(),
            job.headBranch(),
            job.pullRequest(),
            job.fork(),
            job.defaultBranch(),
            job.readScopes(),
            job.writeScope(),
            request.json().readTree(job.declaredJson() == null ? "[]" : job.declaredJson())));
  }

  record StagedResponse(String jobId, List<SetView> sets) {}

  private HttpRouter.Response staged(HttpRouter.Request request) {
    Caller caller = caller(request);
    List<SetView> sets = new ArrayList<>();
    List<UseRow> uses = catalog.jdbi().withExtension(dev.ephemera.catalog.UseDao.class, d -> d.forJob(caller.job().jobId()));
    for (UseRow use : uses) {
      if (use.kind() != UseKind.STAGED) {
        continue;
      }
      SetRow set = findSet(use.setId());
      if (set.status() == SetStatus.LIVE || set.status() == SetStatus.SUPERSEDED) {
        sets.add(SetView.of(set, use.fallbackLevel(), links.archive(set.setId())));
      }
    }
    return HttpRouter.Response.ok(new StagedResponse(caller.job().jobId(), sets));
  }

  /** The set a job gets for a name: what was staged for it at job start, else the newest in its read chain now. */
  private HttpRouter.Response resolve(HttpRouter.Request request) {
    Caller caller = caller(request);
    String name = request.param("name");
    requireName(name);
    String owner = caller.job().owner();
    Optional<UseRow> staged =
        catalog.jdbi().withExtension(dev.ephemera.catalog.UseDao.class, d -> d.forJob(caller.job().jobId())).stream()
            .filter(u -> u.kind() == UseKind.STAGED && u.name().equals(name))
            .findFirst();
    if (staged.isPresent()) {
      SetRow set = findSet(staged.get().setId());
      if (set.status() == SetStatus.LIVE || set.status() == SetStatus.SUPERSEDED) {
        meters.restore("hit", staged.get().fallbackLevel());
        return HttpRouter.Response.ok(SetView.of(set, staged.get().fallbackLevel(), links.archive(set.setId())));
      }
    }
    Decision decision =
        catalog.inTransaction(
            tx ->
                Decisions.resolve(
                    caller.access(),
                    name,
                    (n, scope) -> tx.heads().resolve(owner, n, List.of(scope.toString())).map(r -> r.set().setId())));
    if (decision instanceof Decision.Stage stage) {
      SetRow set = findSet(stage.setId());
      meters.restore("hit", stage.fallbackLevel());
      return HttpRouter.Response.ok(SetView.of(set, stage.fallbackLevel(), links.archive(set.setId())));
    }
    meters.restore("miss", -1);
    String why = ((Decision.Ignore) decision).reason();
    throw ApiException.notFound("restore: set " + name + " not found for job " + caller.job().jobId() + ": " + why);
  }

  /**
   * @param sha256 the chunks asked about
   * @param session the persist's upload session (optional): the server digests the stream as chunks arrive
   * @param first with {@code order}: the stream position of the first of {@code order}
   * @param order with {@code session}: the chunks at stream positions {@code first, first + 1, ...}
   */
  record PresentRequest(List<String> sha256, String session, Long first, List<String> order) {}

  record PresentResponse(Map<String, Long> present) {}

  /** Which chunks the store already has, with their stored sizes: the client uploads only the rest. */
  private HttpRouter.Response present(HttpRouter.Request request) throws IOException {
    Caller caller = caller(request);
    PresentRequest body = request.json(PresentRequest.class, 4 << 20);
    if (body.sha256() == null || body.sha256().size() > 50_000) {
      throw ApiException.badRequest("sha256 must list at most 50000 chunk hashes");
    }
    for (String sha : body.sha256()) {
      requireSha(sha);
    }
    Optional<UploadSessions.Session> session = Optional.empty();
    if (body.session() != null && body.order() != null && caller.access().write().isPresent()) {
      if (body.order().size() > 50_000 || body.first() == null || body.first() < 0) {
        throw ApiException.badRequest("order must list at most 50000 chunk hashes from a position first >= 0");
      }
      body.order().forEach(JobApi::requireSha);
      session = uploads.open(caller.job().jobId(), body.session());
      session.ifPresent(s -> s.order(body.first(), body.order()));
    }
    // Vouch for the chunks first: the persist will not upload what we call present, so GC must keep them for its
    // grace period. Only a chunk with a live catalog row can be present: every upload records its row before storing
    // the bytes, and a row GC marked deleted is not present whatever the store says this instant. Calling a chunk
    // without a row absent costs at most a redundant upload (an object the catalog never heard of), so the store is
    // asked only about chunks the catalog vouches for, and about those in parallel.
    Instant now = clock.instant();
    java.util.Set<String> live =
        body.sha256().isEmpty()
            ? java.util.Set.of()
            : java.util.Set.copyOf(catalog.inTransaction(tx -> tx.chunks().touch(body.sha256(), now)));
    Map<String, Long> present = storedSizes(body.sha256().stream().filter(live::contains).distinct().toList());
    session.ifPresent(s -> s.present(present.keySet()));
    // what the job will not upload: counted as deduplicated (by stored size, the job never sends the raw bytes)
    present.values().forEach(size -> meters.chunkUpload("deduplicated", size));
    return HttpRouter.Response.ok(new PresentResponse(present));
  }

  /** Store lookups of {@code present}, in parallel: against a real S3 each is a round trip of several milliseconds. */
  private static final ExecutorService LOOKUPS = Concurrency.pool("store-lookup", 16);

  /** The stored size of each of {@code sha256s} the store has, in the order given. */
  private Map<String, Long> storedSizes(List<String> sha256s) throws IOException {
    List<Future<java.util.OptionalLong>> sizes = new ArrayList<>(sha256s.size());
    for (String sha : sha256s) {
      sizes.add(LOOKUPS.submit(() -> store.size(chunkKey(sha))));
    }
    Map<String, Long> present = new LinkedHashMap<>();
    try {
      for (int i = 0; i < sha256s.size(); i++) {
        java.util.OptionalLong size = Concurrency.await(sizes.get(i));
        if (size.isPresent()) {
          present.put(sha256s.get(i), size.getAsLong());
        }
      }
    } catch (IOException | RuntimeException e) {
      sizes.forEach(f -> f.cancel(true));
      throw e;
    }
    return present;
  }

  record ChunkStored(String sha256, long storedSize, boolean deduplicated) {}

  /** What a chunk upload (frame or patch) carries, once the caller may write and the chunk's name is a sha256. */
  private record ChunkUpload(Caller caller, String sha, byte[] body) {}

  private ChunkUpload chunkUpload(HttpRouter.Request request) throws IOException {
    Caller caller = caller(request);
    requireWriter(caller);
    String sha = request.param("sha");
    requireSha(sha);
    return new ChunkUpload(caller, sha, chunkBody(request));
  }

  private HttpRouter.Response uploadChunk(HttpRouter.Request request) throws IOException {
    ChunkUpload upload = chunkUpload(request);
    byte[] raw;
    try {
      raw = ChunkFrames.verify(upload.sha(), upload.body());
    } catch (ArchiveException e) {
      throw badChunk(e.getMessage());
    }
    return storeChunk(upload.caller(), request, upload.sha(), upload.body(), raw, "stored");
  }

  /** A chunk (or chunk patch) refused: counted, and answered 422 with the reason. */
  private ApiException badChunk(String why) {
    meters.denied("bad_chunk");
    return new ApiException(422, "bad_chunk", why);
  }

  /**
   * A chunk sent as a {@link ChunkPatch} against a set the job may read (the one it restored): rebuilt from that set's
   * stored chunks and the patch's literals, checked against its name exactly as an uploaded frame is, compressed here
   * and stored. The job sends only what it does not share with that set. Copies come only from a set the job may read,
   * so a patch cannot probe the bytes of chunks it could not restore.
   */
  private HttpRouter.Response uploadPatch(HttpRouter.Request request) throws IOException {
    ChunkUpload upload = chunkUpload(request);
    meters.chunkPatch(upload.body().length);
    ChunkPatch patch;
    try {
      patch = ChunkPatch.decode(upload.sha(), upload.body());
    } catch (ArchiveException e) {
      throw badChunk(e.getMessage());
    }
    SetRow base = findSetWithoutManifest(patch.base());
    readLevel(upload.caller(), base, true);
    byte[] raw;
    try {
      raw = patch.apply(patchBases.of(base.setId()));
      ChunkFrames.verifyRaw(upload.sha(), raw);
    } catch (ArchiveException e) {
      throw badChunk("chunk patch against set " + base.setId() + ": " + e.getMessage());
    } catch (IOException e) {
      // the base set's stored bytes are not what its catalog rows say: the job sends the frame instead
      throw new ApiException(409, "base_missing", "set " + base.setId() + " cannot be a base: " + e.getMessage());
    }
    return storeChunk(
        upload.caller(), request, upload.sha(), ChunkFrames.frame(raw, PATCH_ZSTD_LEVEL), raw, "patched");
  }

  /** The level a chunk rebuilt from a patch is compressed at: a persist's default. */
  static final int PATCH_ZSTD_LEVEL = 3;

  /**
   * Bytes of the raw chunks that patches copied from, held for the next patches of the same persist: a persist sends
   * patches a few at a time in stream order, and neighbouring ones share a base chunk at most with the patches just
   * before them; more would only keep megabyte arrays alive for the collector to copy.
   */
  private static final long PATCH_BASE_BYTES = 16L << 20;

  /** Records and stores a verified chunk ({@code frame} decompresses to {@code raw}, whose sha256 is {@code sha}). */
  private HttpRouter.Response storeChunk(
      Caller caller, HttpRouter.Request request, String sha, byte[] frame, byte[] raw, String outcome) throws IOException {
    String key = chunkKey(sha);
    // The row first (young for GC, and a deleted row revived), then the bytes: every stored chunk has a row, and a
    // chunk uploaded but not yet referenced by any set survives GC's grace period. One upsert: atomic on its own, so no
    // transaction around it (that cost two more round trips per chunk).
    catalog
        .jdbi()
        .useExtension(
            dev.ephemera.catalog.ChunkDao.class, dao -> dao.recordUpload(sha, raw.length, frame.length, clock.instant()));
    Optional<UploadSessions.Session> session =
        request.header(UPLOAD_SESSION_HEADER).flatMap(id -> uploads.find(caller.job().jobId(), id));
    // No HEAD first: the job asked `present` moments ago, so the chunk is almost never there, and storing the same
    // bytes under the same name again is harmless (a HEAD per upload cost more than the rare second PUT saves).
    store.put(key, frame);
    session.ifPresent(s -> s.uploaded(sha, frame, raw, true));
    meters.chunkUpload(outcome, frame.length);
    return HttpRouter.Response.json(201, new ChunkStored(sha, frame.length, false));
  }

  /** The header naming a chunk upload's session (see {@link PresentRequest}). */
  public static final String UPLOAD_SESSION_HEADER = "X-Ephemera-Upload-Session";

  /** A chunk body read straight into an array of its announced length (one copy), refusing more than the limit. */
  private static byte[] chunkBody(HttpRouter.Request request) throws IOException {
    long length = -1;
    try {
      length = request.header("Content-Length").map(Long::parseLong).orElse(-1L);
    } catch (NumberFormatException e) {
      throw ApiException.badRequest("bad Content-Length");
    }
    if (length < 0) {
      return request.body(MAX_CHUNK_BODY);
    }
    if (length > MAX_CHUNK_BODY) {
      throw new ApiException(413, "too_large", "request body larger than " + MAX_CHUNK_BODY + " bytes");
    }
    try (InputStream in = request.exchange().getRequestBody()) {
      byte[] body = new byte[(int) length];
      int n = in.readNBytes(body, 0, body.length);
      if (n != body.length) {
        throw ApiException.badRequest("body ended after " + n + " of " + length + " bytes");
      }
      return body;
    }
  }

  /**
   * @param uploadSession the upload session the chunks came with (optional; see {@link PresentRequest})
   * @param waitForVerification whether to answer only once the worker has digested the stream (the default); with {@code false} the
   *     answer comes once every chunk is known to be stored, with status {@code verifying} and no digests, and the set
   *     is verified in the background before its job's completion is applied (see {@link SetRegistrar})
   */
  record RegisterRequest(String name, String when, Manifest manifest, String uploadSession, Boolean waitForVerification) {}

  /** Registers a pending set: invisible to everyone until the job completes (and then only if policy allows). */
  private HttpRouter.Response register(HttpRouter.Request request) throws IOException {
    Caller caller = caller(request);
    Scope scope = requireWriter(caller);
    RegisterRequest body = request.json(RegisterRequest.class, MAX_MANIFEST_BYTES);
    requireName(body.name());
    if (body.manifest() == null) {
      throw ApiException.badRequest("manifest is required");
    }
    String when = body.when() == null ? "success" : body.when();
    if (!when.equals("success") && !when.equals("always")) {
      throw ApiException.badRequest("when must be \"success\" or \"always\", got \"" + when + "\"");
    }
    Manifest manifest = body.manifest();
    if (manifest.root() == null || !manifest.root().startsWith("/")) {
      throw ApiException.badRequest("manifest.root must be an absolute path");
    }
    manifest.chunks().forEach(c -> requireSha(c.sha256()));
    SetRegistrar.Request asked =
        new SetRegistrar.Request(Ulid.next(), caller.job().jobId(), caller.job().owner(), body.name(),
            scope.toString(), when, manifest, body.uploadSession(), clock.instant());
    if (Boolean.FALSE.equals(body.waitForVerification())) {
      SetRegistrar.Accepted accepted = registrar.accept(asked);
      return HttpRouter.Response.json(
          202,
          new SetView(asked.setId(), asked.name(), asked.scope(), -1, SetView.VERIFYING, manifest.root(), null,
              manifest.tarSize(), null, accepted.archiveSize(), (int) manifest.fileCount(), manifest.chunks().size(),
              asked.at(), asked.jobId(), links.archive(asked.setId())));
    }
    SetRow row = registrar.registerNow(asked);
    return HttpRouter.Response.json(201, SetView.of(row, -1, links.archive(row.setId())));
  }

  private InputStream framesOf(Manifest manifest) {
    Iterator<Manifest.Chunk> chunks = manifest.chunks().iterator();
    return new SequenceInputStream(
        new java.util.Enumeration<InputStream>() {
          public boolean hasMoreElements() {
            return chunks.hasNext();
          }

          public InputStream nextElement() {
            return store.open(chunkKey(chunks.next().sha256()));
          }
        });
  }

  /**
   * The set's manifest; with {@code ?files=false} without its {@code files} list (megabytes for a set of many files),
   * which a restore does not need: the tar stream's sha256 covers every entry.
   */
  private HttpRouter.Response manifest(HttpRouter.Request request) {
    Caller caller = caller(request);
    boolean files = !"false".equals(request.query().get("files"));
    SetRow set = files ? findSet(request.param("set")) : findSetWithoutManifest(request.param("set"));
    readLevel(caller, set, true);
    String json =
        files
            ? set.manifestJson()
            : catalog
                .jdbi()
                .withHandle(
                    h ->
                        h.createQuery("select (manifest - 'files')::text from sets where set_id = :s")
                            .bind("s", set.setId())
                            .mapTo(String.class)
                            .one());
    return HttpRouter.Response.bytes(200, "application/json", json.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  private HttpRouter.Response chunk(HttpRouter.Request request) throws IOException {
    Caller caller = caller(request);
    SetRow set = findSetWithoutManifest(request.param("set"));
    readLevel(caller, set, true);
    String sha = request.param("sha");
    requireSha(sha);
    boolean member =
        catalog
            .jdbi()
            .withHandle(
                h ->
                    h.createQuery("select exists (select 1 from set_chunks where set_id = :s and chunk_sha256 = :c)")
                        .bind("s", set.setId())
                        .bind("c", sha)
                        .mapTo(Boolean.class)
                        .one());
    if (!member) {
      throw ApiException.notFound("chunk " + sha + " is not part of set " + set.setId());
    }
    try {
      byte[] bytes =
          store.getBytes(chunkKey(sha)).orElseThrow(() -> ApiException.notFound("chunk " + sha + " is missing"));
      meters.chunkDownload(bytes.length);
      return HttpRouter.Response.bytes(200, "application/zstd", bytes);
    } catch (NoSuchObjectException e) {
      throw ApiException.notFound("chunk " + sha + " is missing from the store");
    }
  }

  /** How long a presigned chunk URL handed to a restoring job stays valid. */
  static final Duration CHUNK_URL_TTL = Duration.ofHours(1);

  /**
   * Direct download URLs for the chunks of one set, for a job that may read it.
   *
   * @param expiresAt when the URLs stop working (the client falls back to the proxied chunk route after that)
   * @param chunks presigned GET URL by chunk sha256; empty when the store cannot presign (a local directory) or
   *     direct downloads are turned off: then the client uses {@code GET .../chunks/{sha}}
   */
  public record ChunkUrls(Instant expiresAt, Map<String, String> chunks) {}

  /**
   * Hands out presigned GET URLs for exactly the chunks of the set (never other keys), so a restore fetches the
   * bytes from the object store without a hop through the worker. Safe because the URLs grant nothing the job could
   * not already read through the proxied route, and because the client verifies every chunk against its sha256
   * before using a byte of it, wherever it came from.
   */
  private HttpRouter.Response chunkUrls(HttpRouter.Request request) {
    Caller caller = caller(request);
    SetRow set = findSetWithoutManifest(request.param("set"));
    readLevel(caller, set, true);
    Instant expires = clock.instant().plus(CHUNK_URL_TTL);
    Map<String, String> urls = new LinkedHashMap<>();
    Map<String, Long> sizes = new LinkedHashMap<>();
    if (directDownloads) {
      catalog
          .jdbi()
          .useHandle(
              h ->
                  h.createQuery("select chunk_sha256, stored_size from set_chunks where set_id = :s order by ord")
                      .bind("s", set.setId())
                      .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getLong(2)))
                      .forEach(e -> sizes.putIfAbsent(e.getKey(), e.getValue())));
      for (String sha : sizes.keySet()) {
        Optional<java.net.URI> url = store.presignGet(chunkKey(sha), CHUNK_URL_TTL);
        if (url.isEmpty()) {
          urls.clear();
          break;
        }
        urls.put(sha, url.get().toString());
      }
    }
    // What the restore is given, whoever serves the bytes (a chunk the client then fetches through the worker after a
    // failed direct GET counts twice).
    urls.keySet().forEach(sha -> meters.chunkDownload(sizes.get(sha)));
    return HttpRouter.Response.ok(new ChunkUrls(expires, urls));
  }

  /**
   * The set's row without its manifest (which is megabytes for a set of many files, and would otherwise be read and
   * decoded on every chunk request).
   */
  private SetRow findSetWithoutManifest(String setId) {
    if (!Ulid.isValid(setId)) {
      throw ApiException.badRequest("not a set id: " + setId);
    }
    return catalog
        .jdbi()
        .withHandle(
            h ->
                h.registerRowMapper(ConstructorMapper.factory(SetRow.class))
                    .createQuery("select " + SET_COLUMNS_WITHOUT_MANIFEST + " from sets where set_id = :s")
                    .bind("s", setId)
                    .mapTo(SetRow.class)
                    .findOne())
        .orElseThrow(() -> ApiException.notFound("no set " + setId));
  }

  /** {@link dev.ephemera.catalog.SetDao#SET_COLUMNS} with an empty manifest in place of the stored one. */
  private static final String SET_COLUMNS_WITHOUT_MANIFEST = withoutManifest(dev.ephemera.catalog.SetDao.SET_COLUMNS);

  static String withoutManifest(String columns) {
    String manifest = "manifest::text as manifest_json";
    if (!columns.contains(manifest)) {
      throw new IllegalStateException("SetDao.SET_COLUMNS no longer selects '" + manifest + "': " + columns);
    }
    return columns.replace(manifest, "'' as manifest_json");
  }

  record RestoreRequest(String setId) {}

  /** Records that the job restored a set (reported in its {@code ephemera.used}). */
  private HttpRouter.Response restored(HttpRouter.Request request) throws IOException {
    Caller caller = caller(request);
    RestoreRequest body = request.json(RestoreRequest.class, 4096);
    SetRow set = findSet(body.setId());
    int level = readLevel(caller, set);
    Instant now = clock.instant();
    catalog.useTransaction(
        tx -> {
          tx.uses()
              .record(caller.job().jobId(), set.setId(), UseKind.RESTORED, set.name(), set.scope(), Math.max(level, 0), now);
          tx.sets().touch(set.setId(), now);
        });
    return HttpRouter.Response.bytes(204, "application/json", new byte[0]);
  }

  /** The signed download link: the stored frames in order, which is a plain {@code .tar.zst}. */
  private HttpRouter.Response archive(HttpRouter.Request request) {
    String setId = request.param("set");
    if (!links.verify(setId, request.query().get("expires"), request.query().get("sig"))) {
      meters.denied("bad_link");
      throw ApiException.forbidden("this download link is invalid or has expired");
    }
    SetRow set = findSet(setId);
    if (set.status() == SetStatus.DISCARDED
        || set.status() == SetStatus.EVICTED
        || set.status() == SetStatus.INVALIDATED) {
      throw new ApiException(410, "gone", "set " + setId + " is " + set.status().db() + "; its bytes may be gone");
    }
    Manifest manifest = Manifest.fromJson(set.manifestJson());
    return HttpRouter.Response.stream(
        "application/zstd",
        set.archiveSize(),
        Map.of(
            "Content-Disposition", "attachment; filename=\"" + set.name() + "-" + setId + ".tar.zst\"",
            "X-Ephemera-Tar-Sha256", set.tarSha256(),
            "X-Ephemera-Archive-Sha256", set.archiveSha256()),
        out -> {
          try (InputStream in = framesOf(manifest)) {
            in.transferTo(out);
          }
        });
  }

  private static Scope requireWriter(Caller caller) {
    return caller
        .access()
        .write()
        .orElseThrow(
            () -> {
              return ApiException.forbidden(
                  "job " + caller.job().jobId() + " may not persist anything (a "
                      + (caller.job().fork() ? "fork pull request without a number" : "hermetic default-branch job")
                      + "; see the trust table in the README)");
            });
  }

  private static void requireSha(String sha) {
    if (sha == null || !SHA256.matcher(sha).matches()) {
      throw ApiException.badRequest("not a sha256 (64 lower-case hex digits): " + sha);
    }
  }

  private static void requireName(String name) {
    if (name == null || !SET_NAME.matcher(name).matches()) {
      throw ApiException.badRequest("set names are 1-64 characters of [A-Za-z0-9._-], got \"" + name + "\"");
    }
  }
}
