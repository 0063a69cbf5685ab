package dev.ephemera.worker;

import dev.ephemera.catalog.Catalog;
import dev.ephemera.catalog.OutboxBacklog;
import dev.ephemera.catalog.OutboxRow;
import dev.ephemera.metrics.Meters;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drains the outbox to Kafka: claims a batch of unpublished rows (marked published and locked in one statement, so two
 * replicas never send the same rows at once), sends them and waits for every acknowledgement before the transaction
 * commits the mark; a failed send rolls it back. A crash
 * between the send and the commit sends those rows again with the same event ids: delivery is at least once and
 * consumers dedupe on the CloudEvents {@code id} (also in the {@code ce_id} header).
 */
public final class OutboxPublisher implements Runnable {
  private static final Logger LOGGER = LoggerFactory.getLogger(OutboxPublisher.class);
  private static final int BATCH = 500;
  private static final long BACKLOG_EVERY_NANOS = 1_000_000_000L;

  private final Catalog catalog;
  private final Properties props;
  private final String prefix;
  private final Faults faults;
  private final Duration idle;
  private final Clock clock;
  private final Meters meters;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final Object wake = new Object();
  private boolean nudged; // guarded by wake
  private volatile OutboxBacklog lastBacklog = new OutboxBacklog(0, java.util.Optional.empty());

  public OutboxPublisher(
      Catalog catalog,
      String bootstrap,
      String topicPrefix,
      Duration idle,
      Clock clock,
      Meters meters,
      Faults faults) {
    this.faults = faults;
    this.prefix = topicPrefix;
    this.catalog = catalog;
    this.idle = idle;
    this.clock = clock;
    this.meters = meters;
    this.props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
    props.put(ProducerConfig.CLIENT_ID_CONFIG, "ephemera-outbox-" + ProcessHandle.current().pid());
    io.micrometer.core.instrument.Gauge.builder(Meters.OUTBOX_BACKLOG, this, p -> p.lastBacklog.count())
        .description("outbox rows not yet published")
        .register(meters.registry());
    io.micrometer.core.instrument.Gauge.builder(
            Meters.OUTBOX_OLDEST_SECONDS,
            this,
            p -> {
              return p.lastBacklog
                  .oldest()
                  .map(oldest -> Duration.between(oldest, clock.instant()).toMillis() / 1000.0)
                  .orElse(0.0);
            })
        .baseUnit("seconds")
        .description("age of the oldest unpublished outbox row")
        .register(meters.registry());
  }

  @Override
  public void run() {
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer())) {
      long backoff = 0;
      long backlogAt = 0;
      while (running.get()) {
        int sent;
        try {
          sent = publishBatch(producer);
          // the gauges' figure, at most once a second: not a query between every two batches of the hot path
          if (System.nanoTime() - backlogAt > BACKLOG_EVERY_NANOS) {
            lastBacklog = catalog.inTransaction(tx -> tx.outbox().backlog());
            backlogAt = System.nanoTime();
          }
          backoff = 0;
        } catch (RuntimeException e) {
          LOGGER.atWarn().setCause(e).log("publishing the outbox failed; will retry");
          backoff = Math.min(30_000, backoff == 0 ? 200 : backoff * 2);
          pause(backoff);
          continue;
        }
        if (sent < BATCH) {
          pause(idle.toMillis());
        }
      }
    } finally {
      stopped.countDown();
    }
  }

  private int publishBatch(KafkaProducer<String, byte[]> producer) {
    return catalog.inTransaction(
        tx -> {
          List<OutboxRow> rows = tx.outbox().claimBatch(BATCH, clock.instant());
          if (rows.isEmpty()) {
            return 0;
          }
          long start = System.nanoTime();
          List<Future<RecordMetadata>> acks = new ArrayList<>(rows.size());
          for (OutboxRow row : rows) {
            ProducerRecord<String, byte[]> record =
                new ProducerRecord<>(prefix + row.topic(), row.key(), row.payload());
            for (Map.Entry<String, String> h : row.headers().entrySet()) {
              record.headers().add(h.getKey(), h.getValue().getBytes(StandardCharsets.UTF_8));
            }
            record.headers().add("ce_id", row.eventId().getBytes(StandardCharsets.UTF_8));
            acks.add(producer.send(record));
          }
          producer.flush();
          for (Future<RecordMetadata> ack : acks) {
            try {
              ack.get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
              meters.kafkaCall("publish", false, System.nanoTime() - start);
              throw new IllegalStateException("Kafka did not acknowledge an outbox record: " + e.getMessage(), e);
            }
          }
          meters.kafkaCall("publish", true, System.nanoTime() - start);
          faults.at(Faults.AFTER_SEND);
          rows.stream()
              .collect(java.util.stream.Collectors.groupingBy(OutboxRow::topic, java.util.stream.Collectors.counting()))
              .forEach((topic, n) -> meters.outboxPublished(topic, n.intValue()));
          return rows.size();
        });
  }

  /** Wakes the publisher early (after a transaction wrote to the outbox); a nudge is never lost. */
  public void nudge() {
    synchronized (wake) {
      nudged = true;
      wake.notifyAll();
    }
  }

  private void pause(long ms) {
    synchronized (wake) {
      try {
        if (!nudged) {
          wake.wait(Math.max(1, ms));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        running.set(false);
      } finally {
        nudged = false;
      }
    }
  }


  public boolean stop(Duration timeout) throws InterruptedException {
    running.set(false);
    nudge();
    return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }
}
