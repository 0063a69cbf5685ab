package dev.ephemera.catalog;

import java.util.List;

import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/** The read-only queries behind {@code ephemera admin sets|jobs}: across owners, with uses. */
@RegisterConstructorMapper(SetRow.class)
@RegisterConstructorMapper(UseRow.class)
public interface AdminDao {

  /** Sets matching every non-null criterion, newest first. */
  @SqlQuery("select " + SetDao.SET_COLUMNS + """
       from sets
      where (cast(:owner as text) is null or owner = :owner)
        and (cast(:name as text) is null or name = :name)
        and (cast(:scope as text) is null or scope = :scope)
        and (cast(:statuses as text[]) is null or status = any(:statuses))
        and (cast(:job as text) is null or created_by_job = :job)
      order by created_at desc, set_id desc
      limit :limit
      """)
  List<SetRow> sets(@Bind("owner") String owner, @Bind("name") String name, @Bind("scope") String scope,
            @Bind("statuses") String[] statuses, @Bind("job") String createdByJob, @Bind("limit") int limit);

  /** Every use of a set by any job, oldest first. */
  @SqlQuery("""
      select job_id, set_id, kind, name, scope, fallback_level, at from uses
      where set_id = :setId order by at, job_id, kind
      """)
  List<UseRow> usesOf(@Bind("setId") String setId);

  /** Whether a head points at the set. */
  @SqlQuery("select exists (select 1 from heads where set_id = :setId)")
  boolean isHead(@Bind("setId") String setId);
}
