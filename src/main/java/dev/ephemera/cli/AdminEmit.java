package dev.ephemera.cli;

import dev.ephemera.event.CloudEvent;
import dev.ephemera.event.DeclaredSet;
import dev.ephemera.event.EventCodec;
import dev.ephemera.event.JobCompleted;
import dev.ephemera.event.JobInfo;
import dev.ephemera.event.JobStarted;
import dev.ephemera.event.Repo;
import dev.ephemera.event.Ulid;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.RecordMetadata;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ephemera admin emit started|completed}: publish a {@code job.started} or {@code job.completed} the way
 * buildomat would, for trying Ephemera out and for drills. Prints the job id on stdout (so
 * {@code JOB=$(ephemera admin emit started ...)} works) and what it published on stderr.
 */
@Command(
    name = "emit",
    mixinStandardHelpOptions = true,
    description = "Publish a job.started or job.completed event as buildomat would; prints the job id.")
public final class AdminEmit implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "started|completed") String which;

  @Option(names = "--job", description = "Job id (default: a new ULID).") String job;

  @Option(names = "--repo", defaultValue = "oxidecomputer/omicron", description = "OWNER/NAME (default: ${DEFAULT-VALUE}).")
  String repo;

  @Option(names = "--repo-id", defaultValue = "1", description = "GitHub repository id; the owner is gong-<id>.")
  long repoId;

  @Option(names = "--sha", description = "Head commit (default: derived from the job id).") String sha;

  @Option(names = "--branch", description = "Head branch (absent for fork pull requests).") String branch;

  @Option(names = "--pr", description = "Pull request number; makes the trigger pull_request.") Integer pr;

  @Option(names = "--fork", description = "The pull request comes from a fork.") boolean fork;

  @Option(names = "--push", description = "Trigger push (the default without --pr).") boolean push;

  @Option(names = "--default-branch", defaultValue = "main") String defaultBranch;

  @Option(names = "--target", defaultValue = "helios-2.0") String target;

  @Option(names = "--job-name", defaultValue = "build") String jobName;

  @Option(
      names = "--declare",
      paramLabel = "NAME[=RULE,...]",
      description = "A declared [[persist]] set (repeatable); rules default to /home/build/NAME/**/*.")
  List<String> declared = new ArrayList<>();

  @Option(names = "--result", defaultValue = "success", description = "success, failure or cancelled.")
  String result;

  @Option(names = "--bootstrap", description = "Kafka bootstrap servers (default: $EPHEMERA_KAFKA_BOOTSTRAP).")
  String bootstrap;

  @Override
  public Integer call() throws Exception {
    CloudEvent event = event();
    String servers = bootstrap != null ? bootstrap : "localhost:9092";
    RecordMetadata meta = publish(servers, event, new EventCodec());
    spec.commandLine()
        .getErr()
        .printf(
            "published %s %s for job %s to %s-%d@%d%n",
            event.type().type(), event.id(), job, meta.topic(), meta.partition(), meta.offset());
    spec.commandLine().getErr().flush();
    spec.commandLine().getOut().println(job);
    spec.commandLine().getOut().flush();
    return 0;
  }

  CloudEvent event() throws Exception {
    if (job == null) {
      job = Ulid.next();
    }
    String[] parts = repo.split("/", 2);
    if (parts.length != 2) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--repo must be OWNER/NAME");
    }
    String head =
        sha != null
            ? sha
            : HexFormat.of()
                .formatHex(MessageDigest.getInstance("SHA-1").digest(job.getBytes(StandardCharsets.UTF_8)));
    JobInfo.Trigger trigger = pr != null || fork ? JobInfo.Trigger.PULL_REQUEST : JobInfo.Trigger.PUSH;
    if (push && trigger == JobInfo.Trigger.PULL_REQUEST) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--push cannot go with --pr/--fork");
    }
    String headBranch = fork ? null : (branch != null ? branch : (trigger == JobInfo.Trigger.PUSH ? defaultBranch : null));
    List<DeclaredSet> sets = new ArrayList<>();
    for (String spec : declared) {
      int eq = spec.indexOf('=');
      String name = eq < 0 ? spec : spec.substring(0, eq);
      List<String> rules =
          eq < 0 ? List.of("/home/build/" + name + "/**/*") : List.of(spec.substring(eq + 1).split(","));
      sets.add(new DeclaredSet(name, rules, DeclaredSet.When.SUCCESS));
    }
    JobInfo info =
        new JobInfo(
            job,
            "gong-" + repoId,
            new Repo(parts[0], parts[1], repoId),
            head,
            headBranch,
            trigger,
            pr,
            fork,
            defaultBranch,
            target,
            jobName,
            sets);
    String source = "urn:buildomat:server";
    return switch (which) {
      case "started" -> CloudEvent.of(source, JobStarted.of(info));
      case "completed" ->
          CloudEvent.of(
              source,
              JobCompleted.of(info, JobCompleted.Result.valueOf(result.toUpperCase(Locale.ROOT)), Instant.now()));
      default ->
          throw new picocli.CommandLine.ParameterException(
              spec.commandLine(), "say started or completed, not " + which);
    };
  }

  static RecordMetadata publish(String servers, CloudEvent event, EventCodec codec) throws Exception {
    try (EventPublisher publisher = new EventPublisher(servers)) {
      return publisher.send(event, codec.encode(event));
    }
  }
}
