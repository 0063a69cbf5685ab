package dev.ephemera.catalog;

import java.util.Optional;

import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.BindMethods;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** Per-owner policy ({@code owner_policies}). */
@RegisterConstructorMapper(OwnerPolicyRow.class)
public interface PolicyDao {

  /** The owner's policy, or {@link OwnerPolicyRow#defaults(String)} if none was set. */
  default OwnerPolicyRow get(String owner) {
    return find(owner).orElseGet(() -> OwnerPolicyRow.defaults(owner));
  }

  @SqlQuery("""
      select owner, default_branch_mode, quota_bytes, idle_days, when_default, updated_at
      from owner_policies where owner = :owner
      """)
  Optional<OwnerPolicyRow> find(@Bind("owner") String owner);

  /** Sets the owner's policy ({@code updatedAt} is ignored: the row gets the transaction's time). */
  @SqlUpdate("""
      insert into owner_policies (owner, default_branch_mode, quota_bytes, idle_days, when_default, updated_at)
      values (:p.owner, :p.defaultBranchMode, :p.quotaBytes, :p.idleDays, :p.whenDefault, now())
      on conflict (owner) do update set
        default_branch_mode = excluded.default_branch_mode, quota_bytes = excluded.quota_bytes,
        idle_days = excluded.idle_days, when_default = excluded.when_default, updated_at = now()
      """)
  void put(@BindMethods("p") OwnerPolicyRow policy);

  /** Removes the owner's policy: it falls back to the defaults. */
  @SqlUpdate("delete from owner_policies where owner = :owner")
  boolean reset(@Bind("owner") String owner);
}
