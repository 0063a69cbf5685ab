-- Quotas, eviction and chunk GC (issue 5).
--
-- A chunk row is written when a job uploads the chunk (or asks whether the store has it), before the bytes are
-- stored, so every stored chunk has a row and GC can find the unreferenced ones without listing the bucket.
-- last_seen_at is the last time anything vouched for the chunk: an upload, a "present" answer to a persist in
-- flight, or the eviction/invalidation of a set that referenced it. GC deletes a chunk only when no pending, live or
-- superseded set references it AND last_seen_at is older than gc.grace, so a persist or restore in flight (shorter than
-- the grace period) never loses a chunk it still needs.
--
-- A deleted chunk keeps its row (set_chunks of dead sets still reference it) with deleted_at set; uploading the same
-- bytes again clears it.
alter table chunks add column last_seen_at timestamptz not null default now();
alter table chunks add column deleted_at   timestamptz;
create index chunks_gc on chunks (last_seen_at) where deleted_at is null;

-- Least-recently-used eviction scans an owner's evictable sets by last use.
create index sets_owner_lru on sets (owner, (coalesce(last_used_at, live_at, created_at)))
  where status in ('live', 'superseded');
