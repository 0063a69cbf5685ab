package dev.ephemera.cli;

import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.Gc;
import dev.ephemera.event.Invalidate;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.RecordMetadata;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ephemera admin invalidate --owner O [--name N] [--scope S] [--set ID] [--job J] [--from T] [--to T2] --reason R}:
 * publishes {@code ephemera.invalidate} to {@code ephemera.control}. The workers mark the matching sets invalid, move
 * heads back to the newest valid set (or none) and emit {@code ephemera.invalidated}; the invalidation is recorded
 * under the event id, so replaying the control topic changes nothing.
 */
@Command(
    name = "invalidate",
    mixinStandardHelpOptions = true,
    description = "Invalidate an owner's sets (all criteria combine with AND; only --owner and --reason are required).")
public final class AdminInvalidate implements Callable<Integer> {
  static final String SOURCE = "urn:ephemera:admin";

  @Spec CommandSpec spec;
  @Mixin AdminKafka kafka;

  @Option(names = "--owner", required = true, paramLabel = "OWNER", description = "The owner (gong-<repo id>).")
  String owner;

  @Option(names = "--name", paramLabel = "NAME", description = "Only sets of this name.") String name;

  @Option(names = "--scope", paramLabel = "SCOPE", description = "Only sets of this scope (branch:main, pr:12).")
  String scope;

  @Option(names = "--set", paramLabel = "ID", description = "Only this set.") String setId;

  @Option(names = "--job", paramLabel = "JOB", description = "Only sets captured by this job.") String job;

  @Option(names = "--from", paramLabel = "TIME", description = "Only sets created at or after (RFC 3339 or a date).")
  String from;

  @Option(names = "--to", paramLabel = "TIME", description = "Only sets created before (RFC 3339 or a date).")
  String to;

  @Option(names = "--reason", required = true, paramLabel = "TEXT", description = "Why (kept and reported).")
  String reason;

  @Option(names = "--requested-by", paramLabel = "WHO", description = "Who asks (default: $USER).")
  String requestedBy;

  @Override
  public Integer call() throws Exception {
    Invalidate data;
    try {
      data =
          new Invalidate(
              owner,
              new Invalidate.Selector(name, scope, setId, job, time("--from", from), time("--to", to)),
              reason,
              AdminKafka.requester(requestedBy, "ephemera admin invalidate"));
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    CloudEvent event = CloudEvent.of(SOURCE, data);
    RecordMetadata meta = kafka.publish(List.of(event)).get(0);
    spec.commandLine()
        .getOut()
        .printf(
            "published ephemera.invalidate %s for %s%s to %s-%d@%d%n",
            event.id(),
            owner,
            data.selector().matchesEverything() ? " (every set of the owner)" : "",
            meta.topic(),
            meta.partition(),
            meta.offset());
    spec.commandLine().getOut().flush();
    return 0;
  }

  /** An instant from RFC 3339 ({@code 2026-11-20T10:00:00Z}, with an offset) or a date (midnight UTC). */
  static Instant time(String option, String text) {
    if (text == null) {
      return null;
    }
    try {
      return OffsetDateTime.parse(text).toInstant();
    } catch (DateTimeParseException e) {
      try {
        return LocalDate.parse(text).atStartOfDay(ZoneOffset.UTC).toInstant();
      } catch (DateTimeParseException e2) {
        throw new IllegalArgumentException(
            option + ": not a time: " + text + " (say 2026-11-20T10:00:00Z or 2026-11-20)");
      }
    }
  }

  /** {@code ephemera admin gc [--owner O] [--grace D]}: asks the workers for a collector pass now. */
  @Command(
      name = "gc",
      mixinStandardHelpOptions = true,
      description = "Ask the workers for an eviction and chunk GC pass now (publishes ephemera.gc).")
  public static final class GcCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin AdminKafka kafka;

    @Option(names = "--owner", paramLabel = "OWNER", description = "Evict only this owner's sets (GC is global).")
    String owner;

    @Option(names = "--grace", paramLabel = "DURATION", description = "Grace period of this pass (default: gc.grace).")
    String grace;

    @Option(names = "--requested-by", paramLabel = "WHO", description = "Who asks (default: $USER).")
    String requestedBy;

    @Override
    public Integer call() throws Exception {
      Gc data;
      try {
        data =
            new Gc(
                owner,
                grace == null ? null : dev.ephemera.config.Settings.parseDuration("--grace", grace).toSeconds(),
                AdminKafka.requester(requestedBy, "ephemera admin gc"));
      } catch (RuntimeException e) {
        throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
      }
      CloudEvent event = CloudEvent.of(SOURCE, data);
      RecordMetadata meta = kafka.publish(List.of(event)).get(0);
      spec.commandLine()
          .getOut()
          .printf("published ephemera.gc %s to %s-%d@%d%n", event.id(), meta.topic(), meta.partition(), meta.offset());
      spec.commandLine().getOut().flush();
      return 0;
    }
  }
}
