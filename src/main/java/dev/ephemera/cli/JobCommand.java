package dev.ephemera.cli;

/** A command run inside a job: its failures follow the {@code --strict} exit-code rules of {@link CliFailure}. */
interface JobCommand {
  ClientOptions client();
}
