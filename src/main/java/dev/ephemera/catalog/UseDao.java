package dev.ephemera.catalog;

import java.time.Instant;
import java.util.List;

import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** Uses of sets by jobs ({@code uses}), reported on {@code ephemera.used}. */
@RegisterConstructorMapper(UseRow.class)
public interface UseDao {

  /**
   * Records that job {@code jobId} was given ({@link UseKind#STAGED}) or restored ({@link UseKind#RESTORED}) a set.
   * Idempotent: the first record of (job, set, kind) wins.
   *
   * @return whether this call recorded it
   */
  @SqlUpdate("""
      insert into uses (job_id, set_id, kind, name, scope, fallback_level, at)
      values (:jobId, :setId, :kind, :name, :scope, :fallbackLevel, :at)
      on conflict (job_id, set_id, kind) do nothing
      """)
  boolean record(@Bind("jobId") String jobId, @Bind("setId") String setId, @Bind("kind") UseKind kind,
           @Bind("name") String name, @Bind("scope") String scope, @Bind("fallbackLevel") int fallbackLevel,
           @Bind("at") Instant at);

  /** The job's uses, in the order they happened. */
  @SqlQuery("""
      select job_id, set_id, kind, name, scope, fallback_level, at from uses
      where job_id = :jobId order by at, set_id, kind
      """)
  List<UseRow> forJob(@Bind("jobId") String jobId);
}
