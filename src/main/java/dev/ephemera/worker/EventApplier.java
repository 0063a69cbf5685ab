package dev.ephemera.worker;

import dev.ephemera.auth.DownloadLinks;
import dev.ephemera.catalog.BatchDao;
import dev.ephemera.catalog.CatalogTx;
import dev.ephemera.catalog.EventMark;
import dev.ephemera.catalog.JobRow;
import dev.ephemera.catalog.OwnerPolicyRow;
import dev.ephemera.catalog.SetRow;
import dev.ephemera.catalog.UseKind;
import dev.ephemera.catalog.UseRow;
import dev.ephemera.event.Captured;
import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.DeadLetter;
import dev.ephemera.event.Discarded;
import dev.ephemera.event.EventCodec;
import dev.ephemera.event.EventData;
import dev.ephemera.event.EventType;
import dev.ephemera.event.InvalidEventException;
import dev.ephemera.event.JobCompleted;
import dev.ephemera.event.JobInfo;
import dev.ephemera.event.JobStarted;
import dev.ephemera.event.Staged;
import dev.ephemera.event.Topics;
import dev.ephemera.event.Ulid;
import dev.ephemera.event.Used;
import dev.ephemera.metrics.Meters;
import dev.ephemera.policy.Access;
import dev.ephemera.policy.Decision;
import dev.ephemera.policy.Decisions;
import dev.ephemera.policy.JobContext;
import dev.ephemera.policy.OwnerPolicy;
import dev.ephemera.policy.Scope;
import dev.ephemera.policy.ScopePolicy;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies one consumed Kafka record to the catalog, exactly once: in a single transaction it records the event id,
 * carries out the pure {@link Decisions}, and writes the events to emit into the outbox. A record that cannot be
 * parsed, violates its schema, belongs on another topic, or reuses an event id with different content becomes a dead
 * letter (also through the outbox, so it is not lost and not duplicated).
 *
 * <p>The caller commits the Kafka offset only after {@link #apply} returns; an exception from here is transient (the
 * database is unreachable, a serialization failure) and the record is tried again.
 */
public final class EventApplier {
  private static final Logger LOGGER = LoggerFactory.getLogger(EventApplier.class);
  /** Building an ObjectMapper is costly; one, immutable once configured, serves every event. */
  private static final com.fasterxml.jackson.databind.ObjectMapper DECLARED_JSON = EventCodec.newMapper();
  /** The outbox {@code headers} (jsonb) of events and of dead letters. */
  private static final String EVENT_HEADERS = "{\"content-type\": \"" + EventCodec.CONTENT_TYPE + "\"}";
  private static final String DLQ_HEADERS = "{\"content-type\": \"" + EventCodec.DLQ_CONTENT_TYPE + "\"}";
  private static final Map<String, Set<EventType>> INBOUND =
      Map.of(
          Topics.BUILDOMAT_JOBS, Set.of(EventType.JOB_STARTED, EventType.JOB_COMPLETED),
          Topics.CONTROL, Set.of(EventType.INVALIDATE, EventType.GC));

  /** A consumed record. */
  public record Incoming(String topic, int partition, long offset, byte[] key, byte[] value) {}

  /** What became of a record. */
  public sealed interface Outcome permits Applied, Duplicate, DeadLettered {
    String type();
  }

  /** Applied for the first time, with the decisions it led to. */
  public record Applied(String type, List<Decision> decisions) implements Outcome {}

  /** Already applied earlier (a redelivery or a replay): nothing changed. */
  public record Duplicate(String type) implements Outcome {}

  /** Sent to {@code ephemera.dlq} with {@code reason}. */
  public record DeadLettered(String type, String reason) implements Outcome {}

  private final dev.ephemera.catalog.Catalog catalog;
  private final EventCodec codec;
  private final DownloadLinks links;
  private final ControlHandler control;
  private final String source;
  private final Clock clock;
  private final Meters meters;
  private final Settler settler;

  /**
   * Settles the registrations of jobs whose completions are about to be applied (see
   * {@code dev.ephemera.api.SetRegistrar#settle}): once it returns, each of their sets is pending or was dropped.
   */
  @FunctionalInterface
  public interface Settler {
    /** For appliers in a process that takes no registrations. */
    Settler NONE = jobIds -> {};

    /** @throws RuntimeException when it could not: the batch is retried later */
    void settle(Collection<String> jobIds);
  }

  public EventApplier(
      dev.ephemera.catalog.Catalog catalog,
      EventCodec codec,
      DownloadLinks links,
      ControlHandler control,
      String source,
      Clock clock,
      Meters meters,
      Settler settler) {
    this.catalog = catalog;
    this.codec = codec;
    this.links = links;
    this.control = control;
    this.source = source;
    this.clock = clock;
    this.meters = meters;
    this.settler = settler;
  }

  /** Applies one record in a transaction of its own. */
  public Outcome apply(Incoming in) {
    return applyAll(List.of(in)).get(0);
  }

  /** A record that cannot be applied, and why: it becomes a dead letter. */
  record Poison(String eventId, String eventType, String reason) {}

  /**
   * Applies one partition's records, in order, in ONE transaction: each is recorded under its event id (a duplicate
   * within the batch or from earlier changes nothing), carried out, and its output events written to the outbox; poison
   * records become dead letters in the same transaction. Either the whole batch commits or none of it does, and the
   * caller commits the offsets only after this returns, so the guarantees are those of one event at a time, with one
   * commit (one WAL flush) per batch instead of per event.
   */
  public List<Outcome> applyAll(List<Incoming> batch) {
    return applyAll(batch, true);
  }

  /**
   * {@link #applyAll(List)}; with {@code setBased} false, every record is applied with its own statements, one after
   * the other (the reference the set-based {@link JobBatch} is tested against; control batches always go this way).
   */
  List<Outcome> applyAll(List<Incoming> batch, boolean setBased) {
    long start = System.nanoTime();
    List<Object> decoded = new ArrayList<>(batch.size());
    for (Incoming in : batch) {
      decoded.add(decode(in));
    }
    // A completion is applied once every registration of its job is a pending set or dropped, never while one is
    // still being verified (its set would stay pending for a job that completed).
    Set<String> completing = new LinkedHashSet<>();
    for (Object d : decoded) {
      if (d instanceof CloudEvent event && event.data() instanceof JobCompleted completed) {
        completing.add(completed.job().jobId());
      }
    }
    settler.settle(completing);
    // buildomat.jobs batches go set-based (one statement per kind of row); control events are few and go one by one
    boolean jobsOnly = setBased && batch.stream().allMatch(in -> Topics.BUILDOMAT_JOBS.equals(in.topic()));
    List<Outcome> outcomes =
        catalog.inTransaction(
            tx -> {
              if (jobsOnly) {
                return new JobBatch(this, tx, clock, meters).apply(batch, decoded);
              }
              List<Outcome> out = new ArrayList<>(batch.size());
              for (int i = 0; i < batch.size(); i++) {
                out.add(applyIn(tx, batch.get(i), decoded.get(i)));
              }
              return out;
            });
    Duration each = Duration.ofNanos((System.nanoTime() - start) / batch.size());
    for (int i = 0; i < batch.size(); i++) {
      Outcome outcome = outcomes.get(i);
      String kind =
          outcome instanceof Applied ? "applied" : outcome instanceof Duplicate ? "duplicate" : "dlq";
      // the type tag only takes the known types: a dead letter's type is whatever the sender wrote
      String type = EventType.fromType(outcome.type()).isPresent() ? outcome.type() : "unknown";
      meters.event(type, kind, each);
      if (outcome instanceof DeadLettered dead) {
        Incoming in = batch.get(i);
        LOGGER
            .atWarn()
            .addKeyValue("topic", in.topic())
            .addKeyValue("partition", in.partition())
            .addKeyValue("offset", in.offset())
            .addKeyValue("reason", dead.reason())
            .log("record sent to the dead-letter topic");
      }
    }
    return outcomes;
  }

  /** The event, or why it cannot be applied. Runs before the transaction: parsing needs no database. */
  private Object decode(Incoming in) {
    CloudEvent event;
    try {
      event = codec.decode(in.value() == null ? new byte[0] : in.value());
    } catch (InvalidEventException e) {
      return new Poison(e.eventId(), e.eventType(), e.getMessage());
    }
    String type = event.type().type();
    if (!INBOUND.getOrDefault(in.topic(), Set.of()).contains(event.type())) {
      return new Poison(event.id(), type, "event type " + type + " does not belong on topic " + in.topic());
    }
    return event;
  }

  private Outcome applyIn(CatalogTx tx, Incoming in, Object decoded) {
    if (decoded instanceof Poison poison) {
      // A poison record is recorded under its coordinates, so a redelivery does not dead-letter it twice.
      String marker = "dlq:" + in.topic() + ":" + in.partition() + ":" + in.offset();
      if (tx.events().markProcessed(marker, "dlq", sha256(in.value()), in.topic(), in.partition(), in.offset())
          == EventMark.NEW) {
        writeDeadLetter(tx, in, poison.eventId(), poison.eventType(), poison.reason());
      }
      return new DeadLettered(poison.eventType() == null ? "unknown" : poison.eventType(), poison.reason());
    }
    CloudEvent event = (CloudEvent) decoded;
    String type = event.type().type();
    EventMark mark =
        tx.events().markProcessed(event.id(), type, sha256(in.value()), in.topic(), in.partition(), in.offset());
    if (mark == EventMark.DUPLICATE) {
      return new Duplicate(type);
    }
    if (mark == EventMark.CONFLICT) {
      String reason = "event id " + event.id() + " was already applied with different content";
      writeDeadLetter(tx, in, event.id(), type, reason);
      return new DeadLettered(type, reason);
    }
    List<Decision> decisions;
    if (event.data() instanceof JobStarted started) {
      decisions = started(tx, started, event.time());
    } else if (event.data() instanceof JobCompleted completed) {
      decisions = completed(tx, completed, event.time());
    } else {
      decisions = control.apply(tx, event, this::emit);
    }
    return new Applied(type, decisions);
  }

  private List<Decision> started(CatalogTx tx, JobStarted started, Instant at) {
    JobInfo job = started.job();
    OwnerPolicy policy = ownerPolicy(tx.policies().get(job.owner()));
    JobContext context = context(job);
    recordJob(tx, job, policy, at);
    List<String> names = job.declared().stream().map(d -> d.name()).toList();
    List<Decision> decisions =
        Decisions.onStarted(
            context,
            policy,
            names,
            (name, scope) ->
                tx.heads().resolve(job.owner(), name, List.of(scope.toString())).map(r -> r.set().setId()));
    Instant now = clock.instant();
    for (Decision decision : decisions) {
      if (decision instanceof Decision.Stage stage) {
        tx.uses()
            .record(
                job.jobId(),
                stage.setId(),
                UseKind.STAGED,
                stage.name(),
                stage.scope().toString(),
                stage.fallbackLevel(),
                now);
        emit(tx, staged(job, stage));
      }
      count(decision, false);
    }
    meters.staged(Duration.between(at, clock.instant()));
    return decisions;
  }

  /**
   * Counts a job decision the way both application paths (this one and {@link JobBatch}) do: staged by fallback level,
   * ignored as hermetic or a miss, captured with or without a head move ({@code headMoved}, only read for a capture),
   * discarded by reason.
   */
  void count(Decision decision, boolean headMoved) {
    if (decision instanceof Decision.Stage stage) {
      meters.decision("staged", "fallback_" + stage.fallbackLevel());
    } else if (decision instanceof Decision.Ignore ignore) {
      meters.decision("ignored", ignore.reason().startsWith("hermetic") ? "hermetic" : "miss");
    } else if (decision instanceof Decision.Capture) {
      meters.decision("captured", headMoved ? "head_moved" : "head_kept");
    } else if (decision instanceof Decision.Discard discard) {
      meters.decision("discarded", discard.reason().replace(' ', '_'));
    }
  }

  private List<Decision> completed(CatalogTx tx, JobCompleted completed, Instant at) {
    JobInfo job = completed.job();
    if (tx.jobs().find(job.jobId()).isEmpty()) {
      // job.started was never seen (lost before Ephemera existed, or filtered): the completion still settles sets
      recordJob(tx, job, ownerPolicy(tx.policies().get(job.owner())), at);
    }
    String result = completed.result().name().toLowerCase(Locale.ROOT);
    tx.jobs().markCompleted(job.jobId(), result, completed.completedAt());
    List<Decisions.PendingSet> pending = new ArrayList<>();
    for (SetRow set : tx.sets().pendingForJob(job.jobId())) {
      pending.add(pendingSet(set));
    }
    List<Decision> decisions =
        Decisions.onCompleted(Decisions.Result.valueOf(completed.result().name()), pending);
    for (Decision decision : decisions) {
      if (decision instanceof Decision.Capture capture) {
        boolean headMoved = tx.sets().markLive(capture.setId(), completed.completedAt());
        SetRow set = tx.sets().find(capture.setId()).orElseThrow();
        emit(tx, captured(job, set, headMoved));
        count(decision, headMoved);
      } else if (decision instanceof Decision.Discard discard) {
        tx.sets().markDiscarded(discard.setId(), discard.reason());
        emit(tx, discarded(job, discard));
        count(decision, false);
      }
    }
    emitUsed(tx, job);
    return decisions;
  }

  /** One {@code ephemera.used} per job that restored anything, listing every set staged for or restored by it. */
  private void emitUsed(CatalogTx tx, JobInfo job) {
    used(job, tx.uses().forJob(job.jobId()), tx.sets()::find).ifPresent(used -> emit(tx, used));
  }

  /**
   * The {@code ephemera.used} of {@code job} from its uses (in the order they were recorded), or none when it
   * restored nothing: one entry per set, as restored (at its first restore) or else as staged; a set {@code find}
   * no longer knows is left out.
   */
  Optional<Used> used(JobInfo job, List<UseRow> uses, Function<String, Optional<SetRow>> find) {
    Map<String, UseRow> staged = new LinkedHashMap<>();
    Map<String, Instant> restored = new LinkedHashMap<>();
    for (UseRow use : uses) {
      staged.putIfAbsent(use.setId(), use);
      if (use.kind() == UseKind.RESTORED) {
        restored.merge(use.setId(), use.at(), (a, b) -> a.isBefore(b) ? a : b);
        staged.put(use.setId(), use);
      }
    }
    if (restored.isEmpty()) {
      return Optional.empty();
    }
    List<Used.UsedSet> sets = new ArrayList<>();
    for (UseRow use : staged.values()) {
      find.apply(use.setId()).ifPresent(set -> sets.add(usedSet(set, use, restored.get(use.setId()))));
    }
    return Optional.of(new Used(job.jobId(), job.owner(), sets));
  }

  /** The decisions' view of a pending set. */
  static Decisions.PendingSet pendingSet(SetRow set) {
    return new Decisions.PendingSet(
        set.setId(),
        set.name(),
        Scope.parse(set.scope()),
        OwnerPolicy.When.valueOf(set.when().toUpperCase(Locale.ROOT)));
  }

  /** The {@code ephemera.staged} of {@code stage}. */
  static Staged staged(JobInfo job, Decision.Stage stage) {
    return new Staged(
        job.jobId(), job.owner(), stage.name(), stage.setId(), stage.scope().toString(), stage.fallbackLevel());
  }

  /** The {@code ephemera.captured} of {@code set}, now live. */
  static Captured captured(JobInfo job, SetRow set, boolean headMoved) {
    return new Captured(
        job.jobId(),
        job.owner(),
        set.name(),
        set.setId(),
        set.scope(),
        set.tarSha256(),
        set.tarSize(),
        set.archiveSha256(),
        set.archiveSize(),
        set.fileCount(),
        headMoved);
  }

  /** The {@code ephemera.discarded} of {@code discard}. */
  static Discarded discarded(JobInfo job, Decision.Discard discard) {
    return new Discarded(
        job.jobId(), job.owner(), discard.name(), discard.setId(), discard.scope().toString(), discard.reason());
  }

  /** One entry of {@code ephemera.used}: {@code set} as {@code use} gave it to the job. */
  Used.UsedSet usedSet(SetRow set, UseRow use, Instant restoredAt) {
    return new Used.UsedSet(
        set.name(),
        set.setId(),
        set.scope(),
        use.fallbackLevel(),
        set.tarSha256(),
        set.tarSize(),
        set.archiveSha256(),
        set.archiveSize(),
        set.fileCount(),
        set.rootPath(),
        set.createdAt(),
        set.createdByJob(),
        links.archive(set.setId()),
        restoredAt);
  }

  private void recordJob(CatalogTx tx, JobInfo job, OwnerPolicy policy, Instant at) {
    tx.jobs().upsertStarted(jobRow(job, policy, at));
  }

  /** The catalog row {@code job.started} (or a completion of an unknown job) writes for {@code job}. */
  JobRow jobRow(JobInfo job, OwnerPolicy policy, Instant at) {
    Access access = ScopePolicy.access(context(job), policy.defaultBranchMode());
    return new JobRow(
        job.jobId(),
        job.owner(),
        job.repo().owner(),
        job.repo().name(),
        job.repo().id(),
        job.headSha(),
        job.headBranch(),
        job.trigger() == JobInfo.Trigger.PUSH ? "push" : "pull_request",
        job.pullRequest(),
        job.fork(),
        job.defaultBranch(),
        job.target(),
        job.jobName(),
        declaredJson(job),
        access.write().map(Scope::toString).orElse(null),
        access.reads().stream().map(Scope::toString).toList(),
        at,
        null,
        null);
  }

  private String declaredJson(JobInfo job) {
    try {
      return DECLARED_JSON.writeValueAsString(job.declared());
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise declared sets", e);
    }
  }

  /** The policy view of a job. */
  public static JobContext context(JobInfo job) {
    return new JobContext(
        job.owner(),
        job.trigger() == JobInfo.Trigger.PUSH ? JobContext.Trigger.PUSH : JobContext.Trigger.PULL_REQUEST,
        job.headBranch(),
        job.defaultBranch(),
        job.pullRequest(),
        job.fork());
  }

  /** The policy view of a catalog policy row. */
  public static OwnerPolicy ownerPolicy(OwnerPolicyRow row) {
    return new OwnerPolicy(
        OwnerPolicy.DefaultBranchMode.valueOf(row.defaultBranchMode().toUpperCase(Locale.ROOT)),
        row.quotaBytes(),
        Duration.ofDays(row.idleDays()),
        OwnerPolicy.When.valueOf(row.whenDefault().toUpperCase(Locale.ROOT)));
  }

  /** Writes {@code data} as a CloudEvent into the outbox, in the caller's transaction. */
  public void emit(CatalogTx tx, EventData data) {
    CloudEvent event = CloudEvent.of(source, data);
    tx.outbox()
        .append(event.id(), event.topic(), event.key(), codec.encode(event), Map.of("content-type", EventCodec.CONTENT_TYPE));
  }

  /** The outbox row {@link #emit} writes for {@code data}. */
  BatchDao.OutboxAppend outboxRow(EventData data) {
    CloudEvent event = CloudEvent.of(source, data);
    return new BatchDao.OutboxAppend(event.id(), event.topic(), event.key(), codec.encode(event), EVENT_HEADERS);
  }

  private void writeDeadLetter(CatalogTx tx, Incoming in, String eventId, String eventType, String reason) {
    BatchDao.OutboxAppend row = deadLetterRow(in, eventId, eventType, reason);
    tx.outbox().append(row.eventId(), row.topic(), row.key(), row.payload(), Map.of("content-type", EventCodec.DLQ_CONTENT_TYPE));
  }

  /** The outbox row of a dead letter for {@code in} (and the dead-letter meter). */
  BatchDao.OutboxAppend deadLetterRow(Incoming in, String eventId, String eventType, String reason) {
    DeadLetter letter =
        DeadLetter.of(
            in.topic(), in.partition(), in.offset(), in.key(), in.value(), reason, clock.instant(), eventId, eventType);
    meters.deadLetter(in.topic(), reasonKind(reason));
    return new BatchDao.OutboxAppend(
        Ulid.next(),
        Topics.DLQ,
        in.key() == null ? null : new String(in.key(), StandardCharsets.UTF_8),
        codec.encode(letter),
        DLQ_HEADERS);
  }

  /** A low-cardinality label for a dead-letter reason. */
  static String reasonKind(String reason) {
    if (reason.startsWith("not JSON")) {
      return "not_json";
    }
    if (reason.startsWith("unknown event type")) {
      return "unknown_type";
    }
    if (reason.contains("already applied with different content")) {
      return "duplicate_id";
    }
    if (reason.contains("does not belong on topic")) {
      return "wrong_topic";
    }
    if (reason.contains("too large") || reason.contains("larger than")) {
      return "too_large";
    }
    return "schema";
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes == null ? new byte[0] : bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
