-- GC of the manifest objects (manifests/<set_id>.json) of dead sets (issue 5).
--
-- Every registered set has its manifest stored as JSON next to the chunks. Once the set is invalidated, evicted or
-- discarded, its chunks may be collected, so the stored manifest would list chunks that are gone; GC deletes it and
-- records when here, so each pass only looks at dead sets whose manifest is still stored. Postgres keeps the manifest.
alter table sets add column manifest_deleted_at timestamptz;
create index sets_dead_manifests on sets (set_id)
  where status in ('invalidated', 'evicted', 'discarded') and manifest_deleted_at is null;
