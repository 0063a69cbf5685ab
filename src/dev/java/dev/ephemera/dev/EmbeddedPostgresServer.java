package dev.ephemera.dev;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A real PostgreSQL server from the embedded binaries on the test classpath (zonky), in a child process of this JVM.
 *
 * <p>With a data directory the cluster survives restarts (a second {@code make run} reuses it); without one it lives in a
 * temporary directory and is deleted on close.
 */
public final class EmbeddedPostgresServer implements AutoCloseable {
  public static final String USER = "postgres";
  public static final String PASSWORD = "postgres";

  private final EmbeddedPostgres postgres;

  private EmbeddedPostgresServer(EmbeddedPostgres postgres) {
    this.postgres = postgres;
  }

  /** Starts a server that also stops by itself when the JVM exits (for callers that may not close it). */
  public static EmbeddedPostgresServer start(Path dataDir, int port) throws IOException {
    return start(dataDir, port, true);
  }

  /**
   * @param stopAtExit stop the server in a shutdown hook of its own. A caller that closes it in order, after what uses
   *     it, passes false: shutdown hooks run all at once, so the server's own would stop PostgreSQL under a worker that
   *     is still draining (its outbox then waited 30 s for a connection before {@code make run} could exit)
   */
  public static EmbeddedPostgresServer start(Path dataDir, int port, boolean stopAtExit) throws IOException {
    EmbeddedPostgres.Builder builder =
        EmbeddedPostgres.builder()
            .setRegisterShutdownHook(stopAtExit)
            .setPGStartupWait(Duration.ofSeconds(60))
            .setServerConfig("max_connections", "200")
            .setServerConfig("fsync", dataDir == null ? "off" : "on");
    if (dataDir != null) {
      builder.setDataDirectory(dataDir).setCleanDataDirectory(false);
    }
    if (port > 0) {
      builder.setPort(port);
    }
    return new EmbeddedPostgresServer(builder.start());
  }

  /** JDBC URL of the given database on this server. */
  public String jdbcUrl(String database) {
    return "jdbc:postgresql://localhost:" + postgres.getPort() + "/" + database;
  }

  public int port() {
    return postgres.getPort();
  }

  @Override
  public void close() throws IOException {
    postgres.close();
  }
}
