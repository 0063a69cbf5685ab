package dev.ephemera.worker;

import dev.ephemera.metrics.Meters;
import dev.ephemera.worker.EventApplier.Incoming;
import io.micrometer.core.instrument.Gauge;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consumer loop: plumbing only. One thread owns the {@link KafkaConsumer}; auto-commit is off; each record is
 * applied (one Postgres transaction) and only then is offset+1 committed. Errors are of three kinds:
 *
 * <ul>
 *   <li>poison (unparseable, schema violation): the applier dead-letters it and the loop moves on;
 *   <li>transient (database or store unreachable): the partition is rewound to the failed record and retried with
 *       backoff, never skipped;
 *   <li>fatal (an Error): the loop stops and the process exits so the orchestrator restarts it.
 * </ul>
 *
 * Shutdown: {@link #stop()} wakes the consumer; the loop finishes the record in hand, commits and closes.
 */
public final class EventConsumer implements Runnable {
  private static final Logger LOGGER = LoggerFactory.getLogger(EventConsumer.class);

  private final Properties props;
  private final String prefix;
  private final List<String> topics;
  private final EventApplier applier;
  private final Faults faults;
  /** Told after a batch committed (wakes the outbox publisher instead of letting it poll). */
  private final Runnable afterCommit;
  /**
   * Applies a poll's batches: the buildomat.jobs partitions' records together (one set-based transaction), each control
   * partition's on its own, concurrently; each thread holds one database connection at a time.
   */
  private final ExecutorService appliers =
      Executors.newFixedThreadPool(
          Math.max(2, 2 * Runtime.getRuntime().availableProcessors()),
          task -> {
            Thread t = new Thread(task, "ephemera-apply");
            t.setDaemon(true);
            return t;
          });
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final Duration maxBackoff;
  private final Meters meters;
  /** Records behind the end of each assigned partition, as of the last poll (read by the lag gauges). */
  private final Map<TopicPartition, Long> lag = new ConcurrentHashMap<>();
  private final Map<TopicPartition, Gauge> lagGauges = new ConcurrentHashMap<>();
  private volatile KafkaConsumer<byte[], byte[]> consumer;
  private volatile Throwable fatal;

  public EventConsumer(
      String bootstrap,
      String group,
      String topicPrefix,
      List<String> topics,
      EventApplier applier,
      Duration maxBackoff,
      Duration sessionTimeout,
      Faults faults,
      Runnable afterCommit,
      Meters meters) {
    this.faults = faults;
    this.afterCommit = afterCommit;
    this.meters = meters;
    this.props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    // Big polls make big partition batches: one transaction and one set of statements per batch (see JobBatch).
    // A caught-up worker gets small polls anyway, so this costs no latency.
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "2000");
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    // A worker that dies without leaving the group holds its partitions until the session times out.
    props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, Long.toString(sessionTimeout.toMillis()));
    props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, Long.toString(Math.max(500, sessionTimeout.toMillis() / 4)));
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, "ephemera-consumer-" + ProcessHandle.current().pid());
    this.prefix = topicPrefix;
    this.topics = topics.stream().map(t -> topicPrefix + t).toList();
    this.applier = applier;
    this.maxBackoff = maxBackoff;
  }

  /** Waits for one partition's batch; its failure is rethrown as is (a RuntimeException), an Error is fatal. */
  private static void await(Future<?> future) {
    try {
      future.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while applying", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      if (e.getCause() instanceof Error error) {
        throw error;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  @Override
  public void run() {
    Map<TopicPartition, OffsetAndMetadata> done = new HashMap<>();
    try (KafkaConsumer<byte[], byte[]> c =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer = c;
      if (!running.get()) {
        return;
      }
      c.subscribe(
          topics,
          new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
              // everything applied so far, synchronously: the next owner starts where this one stopped
              commitSync(c, done);
              partitions.forEach(done::remove);
              partitions.forEach(EventConsumer.this::unwatchLag);
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> partitions) {
              partitions.forEach(done::remove);
              partitions.forEach(EventConsumer.this::unwatchLag);
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
              LOGGER.atInfo().addKeyValue("partitions", partitions).log("partitions assigned");
              partitions.forEach(EventConsumer.this::watchLag);
            }
          });
      long backoffMs = 0;
      try {
        while (running.get()) {
          long pollStart = System.nanoTime();
          ConsumerRecords<byte[], byte[]> records;
          try {
            records = c.poll(Duration.ofMillis(500));
          } catch (RuntimeException e) {
            meters.kafkaCall("poll", false, System.nanoTime() - pollStart);
            throw e;
          }
          meters.kafkaCall("poll", true, System.nanoTime() - pollStart);
          boolean failed = false;
          // Within a partition the order is kept (one batch per partition at a time). The consumer itself (seek,
          // commit) stays on this thread: KafkaConsumer is not thread-safe.
          // The buildomat.jobs partitions of a poll go in ONE batch (one transaction, one set of statements: see
          // JobBatch), each partition's records in order; a control partition's records are a batch of their own.
          Map<List<TopicPartition>, Future<?>> applying = new LinkedHashMap<>();
          Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> batches = new LinkedHashMap<>();
          List<TopicPartition> jobs = new java.util.ArrayList<>();
          List<List<TopicPartition>> units = new java.util.ArrayList<>();
          for (TopicPartition tp : records.partitions()) {
            batches.put(tp, records.records(tp));
            if (logical(tp.topic()).equals(dev.ephemera.event.Topics.BUILDOMAT_JOBS)) {
              jobs.add(tp);
            } else {
              units.add(List.of(tp));
            }
          }
          if (!jobs.isEmpty()) {
            units.add(0, jobs);
          }
          for (List<TopicPartition> unit : units) {
            List<Incoming> incoming = new java.util.ArrayList<>();
            for (TopicPartition tp : unit) {
              for (ConsumerRecord<byte[], byte[]> r : batches.get(tp)) {
                incoming.add(new Incoming(logical(r.topic()), r.partition(), r.offset(), r.key(), r.value()));
              }
            }
            applying.put(unit, appliers.submit(() -> applier.applyAll(incoming)));
          }
          boolean applied = false;
          for (Map.Entry<List<TopicPartition>, Future<?>> entry : applying.entrySet()) {
            List<TopicPartition> unit = entry.getKey();
            try {
              await(entry.getValue());
              applied = true;
              for (TopicPartition tp : unit) {
                List<ConsumerRecord<byte[], byte[]>> batch = batches.get(tp);
                done.put(tp, new OffsetAndMetadata(batch.get(batch.size() - 1).offset() + 1));
                for (int i = 0; i < batch.size(); i++) {
                  faults.at(Faults.AFTER_APPLY);
                }
              }
            } catch (RuntimeException e) {
              // Transient: nothing of the batch was applied; rewind its partitions to their start and retry.
              failed = true;
              meters.eventError("transient");
              for (TopicPartition tp : unit) {
                List<ConsumerRecord<byte[], byte[]>> batch = batches.get(tp);
                long first = batch.get(0).offset();
                LOGGER
                    .atWarn()
                    .addKeyValue("topic", tp.topic())
                    .addKeyValue("partition", tp.partition())
                    .addKeyValue("offset", first)
                    .addKeyValue("records", batch.size())
                    .setCause(e)
                    .log("applying records failed; will retry");
                c.seek(tp, first);
              }
            }
          }
          if (applied) {
            afterCommit.run();
            commitAsync(c, done);
          }
          updateLag(c);
          if (failed) {
            backoffMs = Math.min(maxBackoff.toMillis(), backoffMs == 0 ? 100 : backoffMs * 2);
            sleep(backoffMs);
          } else {
            backoffMs = 0;
          }
        }
      } catch (WakeupException e) {
        if (running.get()) {
          throw e;
        }
      }
      // stopping: what was applied is committed before the consumer closes
      commitSync(c, done);
    } catch (WakeupException e) {
      if (running.get()) {
        throw e;
      }
    } catch (Error e) {
      fatal = e;
      meters.eventError("fatal");
      LOGGER.atError().setCause(e).log("consumer loop died");
      throw e;
    } finally {
      appliers.shutdownNow();
      lagGauges.keySet().forEach(this::unwatchLag);
      stopped.countDown();
    }
  }

  /**
   * Lag per assigned partition from the consumer's own view of the log end (fetch responses carry it, so this costs no
   * request); a partition not fetched yet keeps its last figure.
   */
  private void updateLag(KafkaConsumer<byte[], byte[]> c) {
    for (TopicPartition tp : lagGauges.keySet()) {
      OptionalLong current = c.currentLag(tp);
      if (current.isPresent()) {
        lag.put(tp, current.getAsLong());
      }
    }
  }

  private void watchLag(TopicPartition tp) {
    lag.putIfAbsent(tp, 0L);
    lagGauges.computeIfAbsent(
        tp,
        p ->
            Gauge.builder(Meters.CONSUMER_LAG, lag, m -> m.getOrDefault(p, 0L))
                .baseUnit("records")
                .description("records between this worker's position and the end of an assigned partition")
                .tag(Meters.TAG_TOPIC, logical(p.topic()))
                .tag(Meters.TAG_PARTITION, Integer.toString(p.partition()))
                .register(meters.registry()));
  }

  private void unwatchLag(TopicPartition tp) {
    Gauge gauge = lagGauges.remove(tp);
    if (gauge != null) {
      meters.registry().remove(gauge);
    }
    lag.remove(tp);
  }

  /** Topic names inside Ephemera are the logical ones; the prefix only exists on the wire. */
  private String logical(String physical) {
    return physical.startsWith(prefix) ? physical.substring(prefix.length()) : physical;
  }

  /**
   * Commits the offsets applied so far without waiting (the loop goes on polling while the broker answers). A commit
   * that fails or is overtaken by a crash only means redelivery, which the applier deduplicates; the offsets are
   * committed synchronously when partitions are revoked and when the loop stops.
   */
  private void commitAsync(KafkaConsumer<byte[], byte[]> c, Map<TopicPartition, OffsetAndMetadata> done) {
    if (done.isEmpty()) {
      return;
    }
    long start = System.nanoTime();
    c.commitAsync(
        new HashMap<>(done),
        (offsets, e) -> {
          meters.kafkaCall("commit", e == null, System.nanoTime() - start);
          if (e != null) {
            LOGGER
                .atWarn()
                .setCause(e)
                .log("offset commit failed; records may be redelivered (they are deduplicated)");
          }
        });
  }

  private void commitSync(KafkaConsumer<byte[], byte[]> c, Map<TopicPartition, OffsetAndMetadata> done) {
    if (done.isEmpty()) {
      return;
    }
    long start = System.nanoTime();
    try {
      c.commitSync(done);
      meters.kafkaCall("commit", true, System.nanoTime() - start);
    } catch (WakeupException e) {
      // stop() raced the commit: commit once more so nothing applied is redelivered needlessly
      c.commitSync(done);
      throw e;
    } catch (RuntimeException e) {
      meters.kafkaCall("commit", false, System.nanoTime() - start);
      // A redelivery after a failed commit is harmless: applied events are recorded and skipped.
      LOGGER.atWarn().setCause(e).log("offset commit failed; records may be redelivered (they are deduplicated)");
    }
  }

  private void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      running.set(false);
    }
  }

  /** Asks the loop to stop and waits up to {@code timeout} for it. */
  public boolean stop(Duration timeout) throws InterruptedException {
    running.set(false);
    KafkaConsumer<byte[], byte[]> c = consumer;
    if (c != null) {
      c.wakeup();
    }
    return stopped.await(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  public boolean isRunning() {
    return stopped.getCount() > 0 && fatal == null;
  }
}
