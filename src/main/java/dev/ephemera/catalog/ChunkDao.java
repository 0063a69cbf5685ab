package dev.ephemera.catalog;

import java.util.Collection;
import java.util.List;

import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/**
 * Content-addressed chunks ({@code chunks}). Rows are added by {@link SetDao#insertPending}; this interface answers
 * what the catalog already knows, so a persist uploads only the chunks that are new.
 */
public interface ChunkDao {

  /**
   * The hashes among {@code sha256s} that the catalog has no row for, each once, in the order given. The caller
   * still checks the object store: a chunk may be stored without a catalog row (an upload whose set was never
   * recorded).
   */
  default List<String> missing(Collection<String> sha256s) {
    if (sha256s.isEmpty()) {
      return List.of();
    }
    return missing(sha256s.toArray(String[]::new));
  }

  @SqlQuery("""
      select x.sha256
      from (select sha256, min(ord) as first from unnest(:shas) with ordinality as u(sha256, ord)
          group by sha256) x
      where not exists (select 1 from chunks c where c.sha256 = x.sha256)
      order by x.first
      """)
  List<String> missing(@Bind("shas") String[] sha256s);

  /** Whether the catalog knows the chunk. */
  @SqlQuery("select exists (select 1 from chunks where sha256 = :sha256)")
  boolean exists(@Bind("sha256") String sha256);
}
