package dev.ephemera.metrics;

import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.SqlLogger;
import org.jdbi.v3.core.statement.SqlStatements;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * Times every SQL statement Jdbi runs against the catalog ({@code ephemera_db_statement_seconds} by outcome) through
 * Jdbi's statement logger hook, keeping whatever logger was installed before.
 */
public final class MeteredSql {
  private MeteredSql() {}

  public static void install(Jdbi jdbi, Meters meters) {
    SqlStatements statements = jdbi.getConfig(SqlStatements.class);
    SqlLogger previous = statements.getSqlLogger();
    statements.setSqlLogger(
        new SqlLogger() {
          @Override
          public void logBeforeExecution(StatementContext context) {
            previous.logBeforeExecution(context);
          }

          @Override
          public void logAfterExecution(StatementContext context) {
            meters.dbStatement(true, elapsed(context, context.getCompletionMoment()));
            previous.logAfterExecution(context);
          }

          @Override
          public void logException(StatementContext context, SQLException ex) {
            meters.dbStatement(false, elapsed(context, context.getExceptionMoment()));
            previous.logException(context, ex);
          }
        });
  }

  private static long elapsed(StatementContext context, Instant end) {
    Instant start = context.getExecutionMoment();
    return start == null || end == null ? 0 : ChronoUnit.NANOS.between(start, end);
  }
}
