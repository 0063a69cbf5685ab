package dev.ephemera.catalog;

import java.sql.Types;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Function;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.argument.AbstractArgumentFactory;
import org.jdbi.v3.core.argument.Argument;
import org.jdbi.v3.core.config.ConfigRegistry;
import org.jdbi.v3.postgres.PostgresPlugin;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ephemera's Postgres catalog: sets, heads, chunks, jobs, uses, processed events, outbox, policies.
 *
 * <p>{@link #open} builds a connection pool, applies the migrations in {@code db/migration} (Flyway: applying
 * them again is a no-op, so every replica may start concurrently) and wires Jdbi. All writes go through
 * {@link #inTransaction}/{@link #useTransaction}, whose {@link CatalogTx} hands out DAOs bound to that one
 * transaction.
 */
public final class Catalog implements AutoCloseable {

  private static final Logger LOGGER = LoggerFactory.getLogger(Catalog.class);
  private static final String MIGRATIONS = "classpath:db/migration";

  private final HikariDataSource pool;
  private final Jdbi jdbi;
  private final String schemaVersion;

  private Catalog(HikariDataSource pool, Jdbi jdbi, String schemaVersion) {
    this.pool = pool;
    this.jdbi = jdbi;
    this.schemaVersion = schemaVersion;
  }

  /** Opens the catalog with a pool of at most 10 connections. */
  public static Catalog open(String jdbcUrl, String user, String password) {
    return open(jdbcUrl, user, password, 10);
  }

  /**
   * Connects, migrates and wires Jdbi.
   *
   * @throws org.flywaydb.core.api.FlywayException if a migration fails; the pool is closed again
   */
  public static Catalog open(String jdbcUrl, String user, String password, int maxPoolSize) {
    return open(jdbcUrl, user, password, maxPoolSize, null);
  }

  /**
   * {@link #open(String, String, String, int)} with the pool's meters ({@code hikaricp_*}: connections, acquire and
   * usage time, timeouts) on {@code meterRegistry} (a Micrometer {@code MeterRegistry}; null for none).
   */
  public static Catalog open(String jdbcUrl, String user, String password, int maxPoolSize, Object meterRegistry) {
    HikariConfig config = new HikariConfig();
    if (meterRegistry != null) {
      config.setMetricRegistry(meterRegistry);
    }
    config.setJdbcUrl(Objects.requireNonNull(jdbcUrl, "jdbcUrl"));
    config.setUsername(user);
    config.setPassword(password);
    config.setMaximumPoolSize(maxPoolSize);
    config.setPoolName("ephemera-catalog");
    // Every connection is at READ COMMITTED from the start, so a transaction need not ask for it: Jdbi's
    // inTransaction(level, ..) costs up to three extra round trips (SHOW, SET, SET back) per transaction.
    config.setTransactionIsolation("TRANSACTION_READ_COMMITTED");
    HikariDataSource pool = new HikariDataSource(config);
    try {
      Flyway flyway = flyway(pool);
      log(flyway.migrate());
      String version = flyway.info().current().getVersion().getVersion();
      return new Catalog(pool, configure(Jdbi.create(pool)), version);
    } catch (RuntimeException e) {
      pool.close();
      throw e;
    }
  }

  /**
   * Applies the pending migrations to {@code dataSource}.
   *
   * @return how many migrations this call applied (0 when the schema was already current)
   */
  public static int migrate(DataSource dataSource) {
    return log(flyway(dataSource).migrate()).migrationsExecuted;
  }

  private static MigrateResult log(MigrateResult result) {
    LOGGER.atInfo()
        .addKeyValue("applied", result.migrationsExecuted)
        .addKeyValue("from", result.initialSchemaVersion)
        .addKeyValue("to", result.targetSchemaVersion)
        .log("catalog migrations applied");
    return result;
  }

  private static Flyway flyway(DataSource dataSource) {
    return Flyway.configure()
        .dataSource(dataSource)
        .locations(MIGRATIONS)
        .load();
  }

  /** Installs the plugins and the mappings of the catalog's enums (stored in lower case). */
  static Jdbi configure(Jdbi jdbi) {
    jdbi.installPlugin(new SqlObjectPlugin());
    jdbi.installPlugin(new PostgresPlugin());
    jdbi.registerArgument(new AbstractArgumentFactory<SetStatus>(Types.VARCHAR) {
      @Override
      protected Argument build(SetStatus value, ConfigRegistry config) {
        return (position, statement, ctx) -> statement.setString(position, value.db());
      }
    });
    jdbi.registerArgument(new AbstractArgumentFactory<UseKind>(Types.VARCHAR) {
      @Override
      protected Argument build(UseKind value, ConfigRegistry config) {
        return (position, statement, ctx) -> statement.setString(position, value.db());
      }
    });
    jdbi.registerColumnMapper(SetStatus.class, (rs, column, ctx) -> {
      String value = rs.getString(column);
      return value == null ? null : SetStatus.fromDb(value);
    });
    jdbi.registerColumnMapper(UseKind.class, (rs, column, ctx) -> {
      String value = rs.getString(column);
      return value == null ? null : UseKind.fromDb(value);
    });
    return jdbi;
  }

  /** The configured Jdbi, for reads outside a transaction ({@code jdbi().onDemand(SetDao.class)}) and tests. */
  public Jdbi jdbi() {
    return jdbi;
  }

  /**
   * Runs {@code work} in one transaction (READ COMMITTED, the isolation every pooled connection is set to; see
   * {@link CatalogTx} for how races are handled) and
   * commits, or rolls back if it throws. Serialization failures and deadlocks surface as
   * {@link org.jdbi.v3.core.JdbiException}s that the caller may retry.
   */
  public <R> R inTransaction(Function<CatalogTx, R> work) {
    return jdbi.inTransaction(handle -> work.apply(new CatalogTx(handle)));
  }

  /** {@link #inTransaction} without a result. */
  public void useTransaction(Consumer<CatalogTx> work) {
    jdbi.useTransaction(handle -> work.accept(new CatalogTx(handle)));
  }

  /** Whether the database answers and has the schema this code migrated to (for readiness probes). */
  public boolean ready() {
    try {
      return jdbi.withHandle(handle -> handle.createQuery("""
              select exists (select 1 from flyway_schema_history where success and version = :v)
              """)
          .bind("v", schemaVersion)
          .mapTo(Boolean.class)
          .one());
    } catch (RuntimeException e) {
      LOGGER.atWarn().setCause(e).log("catalog not ready");
      return false;
    }
  }

  /** The schema version the migrations reached, e.g. {@code "1"}. */
  public String schemaVersion() {
    return schemaVersion;
  }

  /** Closes the connection pool. */
  @Override
  public void close() {
    pool.close();
  }
}
