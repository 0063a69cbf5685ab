package dev.ephemera.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code ephemera}: the worker and the job-side commands in one binary. Exit codes: 0 done (also a miss or a cache
 * failure inside a job, said on stderr, so an optional cache never kills a {@code bash -e} job); with {@code --strict}
 * 2 on a miss and 3 on a failure; 3 when a check the user asked for fails; 64 on a usage error.
 */
@Command(
    name = "ephemera",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Persisted ephemera for buildomat CI jobs.")
public final class Main {
  public static final int USAGE = 64;

  public static void main(String[] args) {
    System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  /** Runs one command line with the given writers; returns the exit code. */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    return run(args, out, err, System.getenv());
  }

  /** Runs one command line with the given writers and environment; returns the exit code. */
  public static int run(String[] args, PrintWriter out, PrintWriter err, java.util.Map<String, String> env) {
    CommandLine cli = commandLine(args.length > 0 ? args[0] : "");
    cli.setDefaultValueProvider(new EnvironmentDefaults(env));
    cli.setOut(out);
    cli.setErr(err);
    cli.setParameterExceptionHandler(
        (e, a) -> {
          err.println("ephemera: " + e.getMessage());
          err.println("Try 'ephemera " + commandPath(e.getCommandLine()) + " --help'.");
          err.flush();
          return USAGE;
        });
    cli.setExecutionExceptionHandler(
        (e, commandLine, parsed) -> {
          // Only commands run inside jobs are lenient; a person's or an operator's command fails loudly.
          boolean strict = !(commandLine.getCommand() instanceof JobCommand);
          boolean json = false;
          if (commandLine.getCommand() instanceof JobCommand job) {
            strict = job.client().strict;
            json = job.client().json;
          }
          CliFailure failure =
              e instanceof CliFailure f
                  ? f
                  : new CliFailure(CliFailure.Kind.FAILURE, describe(commandLine, e), e);
          String kind = failure.kind() == CliFailure.Kind.MISS ? "miss" : "failed";
          String note =
              failure.kind() == CliFailure.Kind.CHECK || strict
                  ? ""
                  : " (exit 0: the job goes on without it; --strict makes this exit " + failure.kind().strictExit + ")";
          err.println("ephemera: " + failure.getMessage() + note);
          err.flush();
          if (json) {
            Output.result(
                out,
                true,
                "",
                java.util.Map.of("command", commandLine.getCommandName(), "outcome", kind, "error", failure.getMessage()));
          }
          if (failure.kind() == CliFailure.Kind.CHECK || strict) {
            return failure.kind().strictExit;
          }
          return 0;
        });
    return cli.execute(args);
  }

  /**
   * The command line for a run whose first argument is {@code first}. A job-side command gets only its own
   * subcommand's model: building picocli's model of every admin command (and loading what their options use) cost
   * about 0.2 s of each persist's and restore's start. Anything else (help, a typo, the admin and worker commands) gets
   * them all, in this order in the usage.
   */
  static CommandLine commandLine(String first) {
    CommandLine cli = new CommandLine(new Main());
    if (first.equals("persist")) {
      cli.addSubcommand(new PersistCommand());
    } else if (first.equals("restore")) {
      cli.addSubcommand(new RestoreCommand());
    } else {
      for (Object command :
          new Object[] {
            new PersistCommand(), new RestoreCommand(), new UnpackCommand(), new PlanCommand(), new SelftestCommand(),
            new WorkerCommand(), new AdminCommand(), new CommandLine.HelpCommand()
          }) {
        cli.addSubcommand(command);
      }
    }
    return cli;
  }

  private static String describe(CommandLine commandLine, Exception e) {
    String what = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    return commandLine.getCommandName() + ": " + what;
  }

  private static String commandPath(CommandLine commandLine) {
    return commandLine.getCommandSpec().qualifiedName(" ").replaceFirst("^ephemera ?", "");
  }

  /** Version from the jar manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"ephemera " + (v == null ? "dev" : v)};
    }
  }
}
