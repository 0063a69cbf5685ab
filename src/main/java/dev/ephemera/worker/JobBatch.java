package dev.ephemera.worker;

import dev.ephemera.catalog.BatchDao;
import dev.ephemera.catalog.BatchDao.HeadKey;
import dev.ephemera.catalog.CatalogTx;
import dev.ephemera.catalog.EventMark;
import dev.ephemera.catalog.JobRow;
import dev.ephemera.catalog.OwnerPolicyRow;
import dev.ephemera.catalog.SetRow;
import dev.ephemera.catalog.UseKind;
import dev.ephemera.catalog.UseRow;
import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.DeclaredSet;
import dev.ephemera.event.JobCompleted;
import dev.ephemera.event.JobInfo;
import dev.ephemera.event.JobStarted;
import dev.ephemera.metrics.Meters;
import dev.ephemera.policy.Decision;
import dev.ephemera.policy.Decisions;
import dev.ephemera.policy.OwnerPolicy;
import dev.ephemera.policy.Scope;
import dev.ephemera.policy.ScopePolicy;
import dev.ephemera.worker.EventApplier.Applied;
import dev.ephemera.worker.EventApplier.DeadLettered;
import dev.ephemera.worker.EventApplier.Duplicate;
import dev.ephemera.worker.EventApplier.Incoming;
import dev.ephemera.worker.EventApplier.Outcome;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One partition batch of {@code buildomat.jobs} records applied set-based, in the caller's transaction, with the same
 * effects as applying the records one after the other ({@link EventApplier#apply}):
 *
 * <ol>
 *   <li>every event id (a poison record: its coordinates) is recorded in one statement, which says per record whether
 *       it is new, a duplicate or a conflicting reuse of an id, also within the batch; in the same round trip, one
 *       query each reads what the events need: owner policies, known jobs, pending sets, uses and used sets of the
 *       completed jobs, the heads every {@code job.started} may read;
 *   <li>the pure {@link Decisions} run in memory, in record order, on that state as the earlier records of the batch
 *       left it: a job started and completed in one batch, a second completion of a job, a started job reading a head a
 *       completion before it moved;
 *   <li>the writes go out in one statement per table (jobs, uses, completions, outbox in record order), all in one
 *       round trip. Heads and sets move per captured set, right away, with the per-set conditional statements
 *       ({@code SetDao.markLive}); the heads read for later records of the batch are then read again.
 * </ol>
 *
 * All of it commits or none of it does, as before; the offsets are committed after the transaction.
 */
final class JobBatch {
  private final EventApplier applier;
  private final CatalogTx tx;
  private final BatchDao db;
  private final Clock clock;
  private final Meters meters;

  // state of the catalog as the records applied so far left it
  private Map<String, OwnerPolicyRow> policies = Map.of();
  private final Set<String> knownJobs = new HashSet<>();
  private final Map<String, List<SetRow>> pending = new HashMap<>();
  private final Map<String, List<UseRow>> storedUses = new HashMap<>();
  private final Map<HeadKey, Optional<String>> heads = new HashMap<>();
  private final Map<String, SetRow> setsById = new HashMap<>();

  // writes, in record order
  private final Map<String, JobRow> jobWrites = new LinkedHashMap<>();
  private final Map<String, BatchDao.Completion> completions = new LinkedHashMap<>();
  private final List<UseRow> useWrites = new ArrayList<>();
  private final Map<String, List<UseRow>> batchUses = new HashMap<>();
  private final List<BatchDao.OutboxAppend> outbox = new ArrayList<>();

  JobBatch(EventApplier applier, CatalogTx tx, Clock clock, Meters meters) {
    this.applier = applier;
    this.tx = tx;
    this.db = tx.batch();
    this.clock = clock;
    this.meters = meters;
  }

  List<Outcome> apply(List<Incoming> batch, List<Object> decoded) {
    List<BatchDao.EventRecord> records = new ArrayList<>(batch.size());
    for (int i = 0; i < batch.size(); i++) {
      Incoming in = batch.get(i);
      String digest = EventApplier.sha256(in.value());
      if (decoded.get(i) instanceof EventApplier.Poison) {
        // a poison record is recorded under its coordinates, so a redelivery does not dead-letter it twice
        String marker = "dlq:" + in.topic() + ":" + in.partition() + ":" + in.offset();
        records.add(new BatchDao.EventRecord(marker, "dlq", digest, in.topic(), in.partition(), in.offset()));
      } else {
        CloudEvent event = (CloudEvent) decoded.get(i);
        records.add(
            new BatchDao.EventRecord(event.id(), event.type().type(), digest, in.topic(), in.partition(), in.offset()));
      }
    }
    List<EventMark> marks = recordAndLoad(records, decoded);

    List<Outcome> out = new ArrayList<>(batch.size());
    for (int i = 0; i < batch.size(); i++) {
      Incoming in = batch.get(i);
      EventMark mark = marks.get(i);
      if (decoded.get(i) instanceof EventApplier.Poison poison) {
        if (mark == EventMark.NEW) {
          outbox.add(applier.deadLetterRow(in, poison.eventId(), poison.eventType(), poison.reason()));
        }
        out.add(new DeadLettered(poison.eventType() == null ? "unknown" : poison.eventType(), poison.reason()));
        continue;
      }
      CloudEvent event = (CloudEvent) decoded.get(i);
      String type = event.type().type();
      if (mark == EventMark.DUPLICATE) {
        out.add(new Duplicate(type));
      } else if (mark == EventMark.CONFLICT) {
        String reason = "event id " + event.id() + " was already applied with different content";
        outbox.add(applier.deadLetterRow(in, event.id(), type, reason));
        out.add(new DeadLettered(type, reason));
      } else if (event.data() instanceof JobStarted started) {
        out.add(new Applied(type, started(started, event.time())));
      } else {
        out.add(new Applied(type, completed((JobCompleted) event.data(), event.time())));
      }
    }
    timed(() -> {
      db.write(jobWrites.values(), useWrites, completions.values(), outbox);
      return null;
    });
    return out;
  }

  /**
   * Records the batch's event ids and reads, in the same round trip, what its events need: owner policies, the
   * completed jobs' rows, pending sets, uses and used sets, and the heads every {@code job.started} may read under any
   * default-branch mode (its owner's policy is not known before the reply). Whatever the reads miss (a head a capture
   * moved, a set not loaded) is read again on demand, so reading for duplicates too changes nothing.
   */
  private List<EventMark> recordAndLoad(List<BatchDao.EventRecord> records, List<Object> decoded) {
    Set<String> owners = new LinkedHashSet<>();
    Set<String> completedJobs = new LinkedHashSet<>();
    Set<HeadKey> keys = new LinkedHashSet<>();
    for (Object d : decoded) {
      if (!(d instanceof CloudEvent event)) {
        continue;
      }
      if (event.data() instanceof JobStarted started) {
        JobInfo job = started.job();
        owners.add(job.owner());
        for (OwnerPolicy.DefaultBranchMode mode : OwnerPolicy.DefaultBranchMode.values()) {
          for (Scope scope : ScopePolicy.access(EventApplier.context(job), mode).reads()) {
            for (DeclaredSet declared : job.declared()) {
              keys.add(new HeadKey(job.owner(), declared.name(), scope.toString()));
            }
          }
        }
      } else if (event.data() instanceof JobCompleted completed) {
        owners.add(completed.job().owner());
        completedJobs.add(completed.job().jobId());
      }
    }
    BatchDao.Reads reads = timed(() -> db.recordAndRead(records, owners, completedJobs, keys));
    policies = reads.policies();
    knownJobs.addAll(reads.knownJobs());
    pending.putAll(reads.pending());
    storedUses.putAll(reads.uses());
    setsById.putAll(reads.usedSets());
    for (HeadKey key : keys) {
      heads.put(key, Optional.ofNullable(reads.heads().get(key)));
    }
    return reads.marks();
  }

  private OwnerPolicy policy(String owner) {
    OwnerPolicyRow row = policies.get(owner);
    return EventApplier.ownerPolicy(row == null ? OwnerPolicyRow.defaults(owner) : row);
  }

  private Optional<String> head(String owner, String name, Scope scope) {
    return heads.computeIfAbsent(
        new HeadKey(owner, name, scope.toString()),
        key -> tx.heads().resolve(owner, name, List.of(key.scope())).map(r -> r.set().setId()));
  }

  private void writeJob(JobInfo job, Instant at) {
    knownJobs.add(job.jobId());
    // the upsert rewrites every column it sets, so the last write of a job in the batch is what the job row ends as
    jobWrites.remove(job.jobId());
    jobWrites.put(job.jobId(), applier.jobRow(job, policy(job.owner()), at));
  }

  private List<Decision> started(JobStarted started, Instant at) {
    JobInfo job = started.job();
    OwnerPolicy policy = policy(job.owner());
    writeJob(job, at);
    List<String> names = job.declared().stream().map(DeclaredSet::name).toList();
    List<Decision> decisions =
        Decisions.onStarted(
            EventApplier.context(job), policy, names, (name, scope) -> head(job.owner(), name, scope));
    Instant now = clock.instant();
    for (Decision decision : decisions) {
      if (decision instanceof Decision.Stage stage) {
        UseRow use =
            new UseRow(
                job.jobId(),
                stage.setId(),
                UseKind.STAGED,
                stage.name(),
                stage.scope().toString(),
                stage.fallbackLevel(),
                now);
        useWrites.add(use);
        batchUses.computeIfAbsent(job.jobId(), j -> new ArrayList<>()).add(use);
        outbox.add(applier.outboxRow(EventApplier.staged(job, stage)));
      }
      applier.count(decision, false);
    }
    meters.staged(Duration.between(at, clock.instant()));
    return decisions;
  }

  private List<Decision> completed(JobCompleted completed, Instant at) {
    JobInfo job = completed.job();
    if (!knownJobs.contains(job.jobId())) {
      // job.started was never seen (lost before Ephemera existed, or filtered): the completion still settles sets
      writeJob(job, at);
    }
    String result = completed.result().name().toLowerCase(Locale.ROOT);
    completions.putIfAbsent(job.jobId(), new BatchDao.Completion(job.jobId(), result, completed.completedAt()));
    // a set is settled once: a second completion of the job finds nothing pending
    List<SetRow> rows = Optional.ofNullable(pending.remove(job.jobId())).orElse(List.of());
    Map<String, SetRow> byId = new HashMap<>();
    List<Decisions.PendingSet> sets = new ArrayList<>();
    for (SetRow set : rows) {
      byId.put(set.setId(), set);
      sets.add(EventApplier.pendingSet(set));
    }
    List<Decision> decisions = Decisions.onCompleted(Decisions.Result.valueOf(completed.result().name()), sets);
    for (Decision decision : decisions) {
      if (decision instanceof Decision.Capture capture) {
        SetRow set = byId.get(capture.setId());
        boolean headMoved = tx.sets().markLive(capture.setId(), completed.completedAt());
        // the head of (owner, name, scope) may have moved: later records read it again
        heads.remove(new HeadKey(set.owner(), set.name(), set.scope()));
        outbox.add(applier.outboxRow(EventApplier.captured(job, set, headMoved)));
        applier.count(decision, headMoved);
      } else if (decision instanceof Decision.Discard discard) {
        tx.sets().markDiscarded(discard.setId(), discard.reason());
        outbox.add(applier.outboxRow(EventApplier.discarded(job, discard)));
        applier.count(decision, false);
      }
    }
    emitUsed(job);
    return decisions;
  }

  /** As {@code EventApplier.emitUsed}, over the stored uses plus those the batch recorded so far. */
  private void emitUsed(JobInfo job) {
    List<UseRow> all = new ArrayList<>(storedUses.getOrDefault(job.jobId(), List.of()));
    Set<List<Object>> stored = new HashSet<>();
    for (UseRow use : all) {
      stored.add(List.of(use.setId(), use.kind()));
    }
    for (UseRow use : batchUses.getOrDefault(job.jobId(), List.of())) {
      if (stored.add(List.of(use.setId(), use.kind()))) { // the first record of (job, set, kind) wins
        all.add(use);
      }
    }
    all.sort(
        Comparator.comparing(UseRow::at).thenComparing(UseRow::setId).thenComparing(u -> u.kind().db()));
    applier.used(job, all, this::findSet).ifPresent(used -> outbox.add(applier.outboxRow(used)));
  }

  /** A set by id: loaded with the batch, else read (and kept for later records). */
  private Optional<SetRow> findSet(String setId) {
    SetRow set = setsById.get(setId);
    if (set != null) {
      return Optional.of(set);
    }
    Optional<SetRow> found = tx.sets().find(setId);
    found.ifPresent(s -> setsById.put(setId, s));
    return found;
  }

  /** Times a {@link BatchDao} statement (the Jdbi DAOs' statements are timed by {@code MeteredSql}). */
  private <R> R timed(java.util.function.Supplier<R> statement) {
    long start = System.nanoTime();
    try {
      R result = statement.get();
      meters.dbStatement(true, System.nanoTime() - start);
      return result;
    } catch (RuntimeException e) {
      meters.dbStatement(false, System.nanoTime() - start);
      throw e;
    }
  }
}
