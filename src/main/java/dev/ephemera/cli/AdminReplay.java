package dev.ephemera.cli;

import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.EventCodec;
import dev.ephemera.event.Invalidate;
import dev.ephemera.event.InvalidEventException;
import dev.ephemera.event.JobCompleted;
import dev.ephemera.event.Topics;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ephemera admin replay --from T [--to T2] [--owner O] --invalidate [--execute]}: "the toolchain image was broken
 * between T and T2". Reads {@code buildomat.jobs} for that time range by timestamp offsets, outside any consumer group
 * (nothing is committed, the workers' offsets are untouched), collects the jobs whose {@code job.completed} falls in the
 * range, and invalidates every set those jobs captured: one {@code ephemera.invalidate} per owner whose selector lists
 * the jobs ({@code created_by_jobs}, at most 1000 per event). Dry run by default: prints what it would publish.
 */
@Command(
    name = "replay",
    mixinStandardHelpOptions = true,
    description =
        "Read buildomat.jobs for a time range and invalidate every set the jobs completed in it captured "
            + "(dry run unless --execute).")
public final class AdminReplay implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin AdminKafka kafka;

  @Option(names = "--from", required = true, paramLabel = "TIME", description = "Start, inclusive (RFC 3339 or a date).")
  String from;

  @Option(names = "--to", paramLabel = "TIME", description = "End, exclusive (default: now).") String to;

  @Option(names = "--owner", paramLabel = "OWNER", description = "Only this owner's jobs.") String owner;

  @Option(names = "--invalidate", description = "Invalidate what the jobs captured (the only action so far).")
  boolean invalidate;

  @Option(names = "--execute", description = "Publish the invalidations (default: only print them).")
  boolean execute;

  @Option(names = "--reason", paramLabel = "TEXT", description = "Why (default: names the range).") String reason;

  @Option(names = "--requested-by", paramLabel = "WHO", description = "Who asks (default: $USER).")
  String requestedBy;

  @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "5m",
      description = "Give up reading after this long (default: ${DEFAULT-VALUE}).")
  String timeout;

  /** What the range holds. */
  record Scan(int records, int undecodable, Map<String, LinkedHashSet<String>> jobsByOwner) {}

  @Override
  public Integer call() throws Exception {
    if (!invalidate) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "say what to do with the jobs in the range: --invalidate (the only action so far)");
    }
    Instant start;
    Instant end;
    try {
      start = AdminInvalidate.time("--from", from);
      end = to == null ? Instant.now() : AdminInvalidate.time("--to", to);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    if (!start.isBefore(end)) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--to must be after --from");
    }
    PrintWriter out = spec.commandLine().getOut();
    String topic = kafka.topic(Topics.BUILDOMAT_JOBS);
    Scan scan = scan(topic, start, end, dev.ephemera.config.Settings.parseDuration("--timeout", timeout));
    int jobs = scan.jobsByOwner().values().stream().mapToInt(LinkedHashSet::size).sum();
    out.printf(
        "%s from %s to %s: %d records, %d job.completed of %d owners%s%n",
        topic, start, end, scan.records(), jobs, scan.jobsByOwner().size(),
        scan.undecodable() == 0 ? "" : " (" + scan.undecodable() + " records were not valid events and are ignored)");
    String why = reason != null ? reason : "replay: jobs completed between " + start + " and " + end;
    List<CloudEvent> events = new ArrayList<>();
    String requester = AdminKafka.requester(requestedBy, "ephemera admin replay");
    for (Map.Entry<String, LinkedHashSet<String>> e : scan.jobsByOwner().entrySet()) {
      List<String> ids = new ArrayList<>(e.getValue());
      for (int i = 0; i < ids.size(); i += Invalidate.Selector.MAX_JOBS) {
        List<String> part = ids.subList(i, Math.min(ids.size(), i + Invalidate.Selector.MAX_JOBS));
        events.add(
            CloudEvent.of(
                AdminInvalidate.SOURCE,
                new Invalidate(
                    e.getKey(), new Invalidate.Selector(null, null, null, null, null, null, part), why, requester)));
      }
      out.printf("  %s: %d jobs: %s%n", e.getKey(), ids.size(), String.join(" ", ids));
    }
    if (events.isEmpty()) {
      out.println("nothing to invalidate");
      out.flush();
      return 0;
    }
    if (!execute) {
      out.printf(
          "dry run: would publish %d ephemera.invalidate to %s, invalidating every set these jobs captured; "
              + "add --execute to do it%n",
          events.size(), kafka.topic(Topics.CONTROL));
      out.flush();
      return 0;
    }
    List<RecordMetadata> sent = kafka.publish(events);
    for (int i = 0; i < events.size(); i++) {
      Invalidate data = (Invalidate) events.get(i).data();
      out.printf(
          "published ephemera.invalidate %s for %s (%d jobs) to %s-%d@%d%n",
          events.get(i).id(), data.owner(), data.selector().createdByJobs().size(), sent.get(i).topic(),
          sent.get(i).partition(), sent.get(i).offset());
    }
    out.flush();
    return 0;
  }

  /** Reads [start, end) of every partition by timestamp offsets, with assign() and no group. */
  Scan scan(String topic, Instant start, Instant end, Duration timeout) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap());
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "2000");
    EventCodec codec = new EventCodec();
    Map<String, LinkedHashSet<String>> byOwner = new TreeMap<>();
    int records = 0;
    int undecodable = 0;
    long deadline = System.nanoTime() + timeout.toNanos();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
      if (infos == null || infos.isEmpty()) {
        throw new CliFailure(CliFailure.Kind.CHECK, "replay: topic " + topic + " does not exist (check --topic-prefix)");
      }
      List<TopicPartition> partitions = infos.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
      Map<TopicPartition, Long> startAt = new HashMap<>();
      Map<TopicPartition, Long> stopAt = new HashMap<>();
      Map<TopicPartition, Long> ends = consumer.endOffsets(partitions, Duration.ofSeconds(30));
      Map<TopicPartition, OffsetAndTimestamp> first = consumer.offsetsForTimes(times(partitions, start));
      Map<TopicPartition, OffsetAndTimestamp> last = consumer.offsetsForTimes(times(partitions, end));
      for (TopicPartition tp : partitions) {
        OffsetAndTimestamp f = first.get(tp);
        if (f == null) {
          continue; // nothing at or after start
        }
        OffsetAndTimestamp l = last.get(tp);
        long stop = l == null ? ends.get(tp) : l.offset();
        if (f.offset() < stop) {
          startAt.put(tp, f.offset());
          stopAt.put(tp, stop);
        }
      }
      consumer.assign(startAt.keySet());
      startAt.forEach(consumer::seek);
      Map<TopicPartition, Long> pending = new HashMap<>(stopAt);
      while (!pending.isEmpty()) {
        if (System.nanoTime() > deadline) {
          throw new CliFailure(CliFailure.Kind.CHECK, "replay: reading " + topic + " took longer than " + timeout);
        }
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          TopicPartition tp = new TopicPartition(r.topic(), r.partition());
          Long stop = stopAt.get(tp);
          if (stop == null || r.offset() >= stop) {
            continue;
          }
          if (r.timestamp() < start.toEpochMilli() || r.timestamp() >= end.toEpochMilli()) {
            continue; // timestamps need not be monotonic within a partition (producer-set CreateTime)
          }
          records++;
          CloudEvent event;
          try {
            event = codec.decode(r.value() == null ? new byte[0] : r.value());
          } catch (InvalidEventException e) {
            undecodable++;
            continue;
          }
          if (event.data() instanceof JobCompleted completed) {
            String o = completed.job().owner();
            if (owner == null || owner.equals(o)) {
              byOwner.computeIfAbsent(o, k -> new LinkedHashSet<>()).add(completed.job().jobId());
            }
          }
        }
        for (TopicPartition tp : new ArrayList<>(pending.keySet())) {
          if (consumer.position(tp) >= pending.get(tp)) {
            pending.remove(tp);
          }
        }
      }
    }
    return new Scan(records, undecodable, byOwner);
  }

  private static Map<TopicPartition, Long> times(List<TopicPartition> partitions, Instant at) {
    Map<TopicPartition, Long> m = new HashMap<>();
    for (TopicPartition tp : partitions) {
      m.put(tp, at.toEpochMilli());
    }
    return m;
  }
}
