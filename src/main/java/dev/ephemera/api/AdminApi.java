package dev.ephemera.api;

import dev.ephemera.archive.Manifest;
import dev.ephemera.auth.DownloadLinks;
import dev.ephemera.catalog.AdminDao;
import dev.ephemera.catalog.Catalog;
import dev.ephemera.catalog.JobRow;
import dev.ephemera.catalog.OwnerPolicyRow;
import dev.ephemera.catalog.SetRow;
import dev.ephemera.catalog.SetStatus;
import dev.ephemera.catalog.UseKind;
import dev.ephemera.catalog.UseRow;
import dev.ephemera.event.Ulid;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The operator's HTTP API (admin token): per-owner policy, and read-only views of sets and jobs from the catalog, the
 * data behind {@code ephemera admin policy|sets|jobs|report}. Invalidation, replay and GC are not here: they are events
 * on {@code ephemera.control}, so they are ordered with an owner's job events and survive replays.
 *
 * <pre>
 *   GET  /v1/admin/owners/{owner}/policy     the owner's policy (defaults if none was set) and stored bytes
 *   PUT  /v1/admin/owners/{owner}/policy     change some fields of it; DELETE resets it to the defaults
 *   GET  /v1/admin/sets?owner=&name=&scope=&status=a,b&job=&limit=
 *   GET  /v1/admin/sets/{set}                one set: summary, manifest summary, uses
 *   GET  /v1/admin/jobs/{job}                what a job staged, restored and captured
 *   GET  /v1/admin/jobs/{job}/report         the Markdown block the job reporter attaches to the check run
 * </pre>
 */
public final class AdminApi {
  private static final Pattern OWNER = Pattern.compile("[A-Za-z0-9._-]{1,128}");
  private static final int MAX_LIST = 1000;

  private final Catalog catalog;
  private final DownloadLinks links;
  private final JobApi auth;

  /**
   * @param auth the job API, whose admin-token check (counted as {@code denied}) this API shares
   */
  public AdminApi(Catalog catalog, DownloadLinks links, JobApi auth) {
    this.catalog = catalog;
    this.links = links;
    this.auth = auth;
  }

  /** Registers the routes on {@code router}. */
  public void routes(HttpRouter router) {
    router
        .route("GET", "/v1/admin/owners/{owner}/policy", this::getPolicy)
        .route("PUT", "/v1/admin/owners/{owner}/policy", this::putPolicy)
        .route("DELETE", "/v1/admin/owners/{owner}/policy", this::resetPolicy)
        .route("GET", "/v1/admin/sets", this::listSets)
        .route("GET", "/v1/admin/sets/{set}", this::showSet)
        .route("GET", "/v1/admin/jobs/{job}", this::showJob)
        .route("GET", "/v1/admin/jobs/{job}/report", this::report);
  }

  // ---- policy ----

  /** An owner's policy as the API shows it. */
  record PolicyView(
      String owner,
      String defaultBranchMode,
      long quotaBytes,
      int idleDays,
      String whenDefault,
      Instant updatedAt,
      boolean isDefault,
      long storedBytes) {}

  /** A change of policy; absent fields keep their current value. */
  record PolicyChange(String defaultBranchMode, Long quotaBytes, Integer idleDays, String whenDefault) {}

  private HttpRouter.Response getPolicy(HttpRouter.Request request) {
    auth.requireAdmin(request);
    return HttpRouter.Response.ok(policyView(owner(request)));
  }

  private HttpRouter.Response putPolicy(HttpRouter.Request request) throws IOException {
    auth.requireAdmin(request);
    String owner = owner(request);
    PolicyChange change = request.json(PolicyChange.class, 4096);
    catalog.useTransaction(
        tx -> {
          OwnerPolicyRow now = tx.policies().get(owner);
          OwnerPolicyRow next;
          try {
            next =
                new OwnerPolicyRow(
                    owner,
                    change.defaultBranchMode() == null ? now.defaultBranchMode() : change.defaultBranchMode(),
                    change.quotaBytes() == null ? now.quotaBytes() : change.quotaBytes(),
                    change.idleDays() == null ? now.idleDays() : change.idleDays(),
                    change.whenDefault() == null ? now.whenDefault() : change.whenDefault(),
                    null);
          } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(e.getMessage());
          }
          tx.policies().put(next);
        });
    return HttpRouter.Response.ok(policyView(owner));
  }

  private HttpRouter.Response resetPolicy(HttpRouter.Request request) {
    auth.requireAdmin(request);
    String owner = owner(request);
    catalog.useTransaction(tx -> tx.policies().reset(owner));
    return HttpRouter.Response.ok(policyView(owner));
  }

  private PolicyView policyView(String owner) {
    return catalog.inTransaction(
        tx -> {
          Optional<OwnerPolicyRow> set = tx.policies().find(owner);
          OwnerPolicyRow p = set.orElseGet(() -> OwnerPolicyRow.defaults(owner));
          return new PolicyView(
              owner,
              p.defaultBranchMode(),
              p.quotaBytes(),
              p.idleDays(),
              p.whenDefault(),
              p.updatedAt(),
              set.isEmpty(),
              tx.evictions().storedBytes(owner));
        });
  }

  private static String owner(HttpRouter.Request request) {
    String owner = request.param("owner");
    if (!OWNER.matcher(owner).matches()) {
      throw ApiException.badRequest("not an owner (letters, digits, '.', '_', '-'; e.g. gong-123): " + owner);
    }
    return owner;
  }

  // ---- sets ----

  /** One line of the set listing. */
  record SetLine(
      String setId,
      String owner,
      String name,
      String scope,
      String status,
      String statusReason,
      boolean head,
      long archiveSize,
      long tarSize,
      int fileCount,
      Instant createdAt,
      Instant lastUsedAt,
      String createdByJob) {}

  record SetList(List<SetLine> sets, int limit) {}

  private HttpRouter.Response listSets(HttpRouter.Request request) {
    auth.requireAdmin(request);
    Map<String, String> q = request.query();
    String[] statuses = null;
    if (q.get("status") != null && !q.get("status").isBlank()) {
      statuses =
          Arrays.stream(q.get("status").split(","))
              .map(String::trim)
              .map(AdminApi::status)
              .toArray(String[]::new);
    }
    int limit = 100;
    if (q.get("limit") != null) {
      try {
        limit = Integer.parseInt(q.get("limit"));
      } catch (NumberFormatException e) {
        throw ApiException.badRequest("limit must be a number");
      }
      if (limit < 1 || limit > MAX_LIST) {
        throw ApiException.badRequest("limit must be 1.." + MAX_LIST);
      }
    }
    String[] st = statuses;
    int lim = limit;
    List<SetLine> lines =
        catalog
            .jdbi()
            .withExtension(
                AdminDao.class,
                dao ->
                    dao.sets(blank(q.get("owner")), blank(q.get("name")), blank(q.get("scope")), st,
                            blank(q.get("job")), lim).stream()
                        .map(s -> line(s, dao.isHead(s.setId())))
                        .toList());
    return HttpRouter.Response.ok(new SetList(lines, limit));
  }

  private static String status(String value) {
    try {
      return SetStatus.fromDb(value).db();
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest(
          "unknown status " + value + "; one of pending, live, superseded, invalidated, evicted, discarded");
    }
  }

  private static String blank(String v) {
    return v == null || v.isBlank() ? null : v;
  }

  private static SetLine line(SetRow s, boolean head) {
    return new SetLine(
        s.setId(),
        s.owner(),
        s.name(),
        s.scope(),
        s.status().db(),
        s.statusReason(),
        head,
        s.archiveSize(),
        s.tarSize(),
        s.fileCount(),
        s.createdAt(),
        s.lastUsedAt(),
        s.createdByJob());
  }

  /** A set in detail: the listing line, its hashes and link, a summary of the manifest, and who used it. */
  record SetDetail(
      SetLine set,
      String rootPath,
      String when,
      String tarSha256,
      String archiveSha256,
      int chunkCount,
      Instant liveAt,
      Instant completedAt,
      String downloadUrl,
      ManifestSummary manifest,
      List<UseRow> uses) {}

  /** What is in a set, in short: counts by entry type and the largest files. */
  record ManifestSummary(
      int version, String root, long fileCount, Map<String, Long> entries, List<FileLine> largest,
      List<String> warnings) {}

  record FileLine(String path, long size, String sha256) {}

  private HttpRouter.Response showSet(HttpRouter.Request request) {
    auth.requireAdmin(request);
    String setId = request.param("set");
    if (!Ulid.isValid(setId)) {
      throw ApiException.badRequest("not a set id: " + setId);
    }
    return catalog
        .jdbi()
        .withExtension(
            AdminDao.class,
            dao -> {
              SetRow s =
                  catalog
                      .jdbi()
                      .withExtension(dev.ephemera.catalog.SetDao.class, d -> d.find(setId))
                      .orElseThrow(() -> ApiException.notFound("no set " + setId));
              return HttpRouter.Response.ok(
                  new SetDetail(
                      line(s, dao.isHead(setId)),
                      s.rootPath(),
                      s.when(),
                      s.tarSha256(),
                      s.archiveSha256(),
                      s.chunkCount(),
                      s.liveAt(),
                      s.completedAt(),
                      links.archive(setId),
                      summary(Manifest.fromJson(s.manifestJson())),
                      dao.usesOf(setId)));
            });
  }

  private static ManifestSummary summary(Manifest m) {
    Map<String, Long> entries = new LinkedHashMap<>();
    for (Manifest.FileEntry f : m.files()) {
      entries.merge(f.type().name().toLowerCase(Locale.ROOT), 1L, Long::sum);
    }
    List<FileLine> largest =
        m.files().stream()
            .filter(f -> f.type() == Manifest.EntryType.FILE)
            .sorted(Comparator.comparingLong(Manifest.FileEntry::size).reversed()
                .thenComparing(Manifest.FileEntry::path))
            .limit(10)
            .map(f -> new FileLine(f.path(), f.size(), f.sha256()))
            .toList();
    return new ManifestSummary(
        m.version(), m.root(), m.fileCount(), entries, largest, m.warnings() == null ? List.of() : m.warnings());
  }

  // ---- jobs ----

  /** A set as a job saw it: how it used it, and the set's identity. */
  record JobSet(
      String kind,
      String setId,
      String name,
      String scope,
      Integer fallbackLevel,
      String status,
      String tarSha256,
      long archiveSize,
      long tarSize,
      Instant createdAt,
      String createdByJob,
      Instant at,
      String downloadUrl) {}

  record JobDetail(
      String jobId,
      String owner,
      String repo,
      String headSha,
      String headBranch,
      String trigger,
      Integer pullRequest,
      boolean fork,
      String jobName,
      String writeScope,
      List<String> readScopes,
      Instant startedAt,
      Instant completedAt,
      String result,
      List<JobSet> staged,
      List<JobSet> restored,
      List<JobSet> captured) {}

  private HttpRouter.Response showJob(HttpRouter.Request request) {
    auth.requireAdmin(request);
    return HttpRouter.Response.ok(jobDetail(request.param("job")));
  }

  private JobDetail jobDetail(String jobId) {
    if (!Ulid.isValid(jobId)) {
      throw ApiException.badRequest("not a job id: " + jobId);
    }
    return catalog.inTransaction(
        tx -> {
          JobRow job =
              tx.jobs()
                  .find(jobId)
                  .orElseThrow(() -> ApiException.notFound("job " + jobId + " is not known (no job.started seen)"));
          List<JobSet> staged = new ArrayList<>();
          List<JobSet> restored = new ArrayList<>();
          for (UseRow use : tx.uses().forJob(jobId)) {
            SetRow s = tx.sets().find(use.setId()).orElseThrow();
            JobSet js = jobSet(use.kind().db(), s, use.fallbackLevel(), use.at());
            (use.kind() == UseKind.STAGED ? staged : restored).add(js);
          }
          List<JobSet> captured =
              tx.handle().attach(AdminDao.class).sets(null, null, null, null, jobId, MAX_LIST).stream()
                  .sorted(Comparator.comparing(SetRow::setId))
                  .map(s -> jobSet("persisted", s, null, s.createdAt()))
                  .toList();
          return new JobDetail(
              job.jobId(),
              job.owner(),
              job.repoOwner() + "/" + job.repoName(),
              job.headSha(),
              job.headBranch(),
              job.trigger(),
              job.pullRequest(),
              job.fork(),
              job.jobName(),
              job.writeScope(),
              job.readScopes(),
              job.startedAt(),
              job.completedAt(),
              job.result(),
              staged,
              restored,
              captured);
        });
  }

  private JobSet jobSet(String kind, SetRow s, Integer level, Instant at) {
    return new JobSet(
        kind,
        s.setId(),
        s.name(),
        s.scope(),
        level,
        s.status().db(),
        s.tarSha256(),
        s.archiveSize(),
        s.tarSize(),
        s.createdAt(),
        s.createdByJob(),
        at,
        links.archive(s.setId()));
  }

  record Report(String jobId, String markdown) {}

  private HttpRouter.Response report(HttpRouter.Request request) {
    auth.requireAdmin(request);
    JobDetail job = jobDetail(request.param("job"));
    return HttpRouter.Response.ok(new Report(job.jobId(), markdown(job)));
  }

  /**
   * The Markdown block the job reporter attaches to the job's check run: every set the job restored (what its
   * {@code ephemera.used} event lists), and every set it persisted with what became of it.
   */
  static String markdown(JobDetail job) {
    StringBuilder md = new StringBuilder();
    md.append("### Persisted ephemera\n\n");
    if (job.restored().isEmpty()) {
      md.append("This job restored nothing");
      md.append(job.readScopes().isEmpty() ? " (it reads no scope: hermetic).\n" : ".\n");
    } else {
      md.append("Restored:\n\n");
      md.append("| set | scope | fallback level | sha256 of the tar stream | size | created at | created by job "
          + "| download |\n");
      md.append("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
      for (JobSet s : job.restored()) {
        md.append("| `").append(s.name()).append("` | `").append(s.scope()).append("` | ")
            .append(s.fallbackLevel()).append(" | `").append(s.tarSha256()).append("` | ")
            .append(size(s.archiveSize())).append(" (").append(size(s.tarSize())).append(" unpacked) | ")
            .append(s.createdAt()).append(" | `").append(s.createdByJob()).append("` | [")
            .append(s.name()).append(".tar.zst](").append(s.downloadUrl()).append(") |\n");
      }
      md.append("\nCheck a download: `curl -sL LINK | zstd -dc | sha256sum` prints the sha256 above.\n");
    }
    if (!job.captured().isEmpty()) {
      md.append("\nPersisted:\n\n");
      md.append("| set | scope | status | sha256 of the tar stream | size |\n");
      md.append("| --- | --- | --- | --- | --- |\n");
      for (JobSet s : job.captured()) {
        md.append("| `").append(s.name()).append("` | `").append(s.scope()).append("` | ").append(s.status())
            .append(" | `").append(s.tarSha256()).append("` | ").append(size(s.archiveSize())).append(" |\n");
      }
    }
    return md.toString();
  }

  /** Bytes for people: {@code 812 B}, {@code 3.4 MiB}. */
  public static String size(long n) {
    if (n < 1024) {
      return n + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = n;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

}
