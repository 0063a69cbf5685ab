package dev.ephemera.catalog;

import java.util.Collection;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.sqlobject.SqlObject;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.customizer.BindMethods;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** Registrations not verified yet ({@code registrations}; see {@link RegistrationRow}). */
@RegisterConstructorMapper(RegistrationRow.class)
public interface RegistrationDao extends SqlObject {

  String COLUMNS = """
       set_id, job_id, owner, name, scope, when_ as "when", upload_session, manifest as manifest_json, created_at
      """;

  @SqlUpdate("""
      insert into registrations (set_id, job_id, owner, name, scope, when_, upload_session, manifest, created_at)
      values (:r.setId, :r.jobId, :r.owner, :r.name, :r.scope, :r.when, :r.uploadSession, :r.manifestJson, :r.createdAt)
      """)
  void insert(@BindMethods("r") RegistrationRow row);

  @SqlQuery("select " + COLUMNS + " from registrations where set_id = :setId")
  Optional<RegistrationRow> find(@Bind("setId") String setId);

  @SqlQuery("select exists (select 1 from registrations where set_id = :setId)")
  boolean exists(@Bind("setId") String setId);

  /** The ids of these jobs' registrations, oldest first (their manifests stay in the table). */
  default List<String> idsForJobs(Collection<String> jobIds) {
    return jobIds.isEmpty() ? List.of() : idsForJobs(jobIds.toArray(String[]::new));
  }

  @SqlQuery("select set_id from registrations where job_id = any(:jobIds) order by set_id")
  List<String> idsForJobs(@Bind("jobIds") String[] jobIds);

  /** The ids of every registration, oldest first (what a starting worker verifies). */
  @SqlQuery("select set_id from registrations order by set_id")
  List<String> ids();

  /**
   * Takes the registration out, locking it: of two workers settling it at once, one gets {@code true} and turns it
   * into a set; the other, once the first commits, gets {@code false} and does nothing.
   */
  @SqlUpdate("delete from registrations where set_id = :setId")
  boolean delete(@Bind("setId") String setId);
}
