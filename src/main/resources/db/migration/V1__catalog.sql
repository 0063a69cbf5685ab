-- Ephemera catalog, first schema. Flyway applies each numbered file once (its history table makes start-up
-- idempotent); a released file is never edited, a change is a new V<n>__*.sql.
--
-- Times are timestamptz (UTC instants). Ids are ULIDs (26 chars), kept as text so the catalog does not care how
-- they are generated. Scopes are strings such as 'branch:main' or 'pr:1432'.

-- One row per buildomat job seen on buildomat.jobs: written by job.started, completed by job.completed.
create table jobs (
    job_id          text        primary key,
    owner           text        not null,
    repo_owner      text        not null,
    repo_name       text        not null,
    repo_id         bigint      not null,
    head_sha        text        not null,
    head_branch     text,                       -- absent for pull requests from forks
    trigger         text        not null check (trigger in ('push', 'pull_request')),
    pull_request    integer,
    fork            boolean     not null,
    default_branch  text        not null,
    target          text        not null,
    job_name        text        not null,
    declared        jsonb       not null default '[]'::jsonb,  -- the declared [[persist]] sets, as sent
    write_scope     text,                       -- null: the job may write nothing
    read_scopes     text[]      not null default '{}',         -- in fallback order (index = fallback level)
    started_at      timestamptz not null,
    completed_at    timestamptz,
    result          text        check (result in ('success', 'failure', 'cancelled')),
    check ((completed_at is null) = (result is null))
);
create index jobs_owner_started on jobs (owner, started_at);

-- Sets are immutable once inserted, except status (+ status_reason, live_at, completed_at set once when the
-- creating job completes) and last_used_at.
--
--   pending ──job success (or when_='always')──▶ live ──newer set became head──▶ superseded
--      │                                          │                                │
--      └──job failed/cancelled──▶ discarded       └──▶ invalidated / evicted ◀──────┘
--
-- At most one set per (owner, name, scope) is live: the one its head points to.
create table sets (
    set_id          text        primary key,
    owner           text        not null,
    name            text        not null,
    scope           text        not null,
    status          text        not null default 'pending'
                    check (status in ('pending', 'live', 'superseded', 'invalidated', 'evicted', 'discarded')),
    status_reason   text,
    created_by_job  text        not null,
    created_at      timestamptz not null,
    live_at         timestamptz,
    completed_at    timestamptz,                -- the creating job's completion time: orders head moves
    root_path       text        not null,
    when_           text        not null default 'success' check (when_ in ('success', 'always')),
    tar_sha256      text        not null,
    tar_size        bigint      not null check (tar_size >= 0),
    archive_sha256  text        not null,
    archive_size    bigint      not null check (archive_size >= 0),
    file_count      integer     not null check (file_count >= 0),
    chunk_count     integer     not null check (chunk_count >= 0),
    manifest        jsonb       not null,
    last_used_at    timestamptz
);
create index sets_key on sets (owner, name, scope, completed_at, set_id);
create index sets_job on sets (created_by_job);
create index sets_owner_status on sets (owner, status);

-- The newest live set of each (owner, name, scope). Moves only forward in (completed_at, set_id) order.
-- set_completed_at copies the set's completed_at so the "is it newer?" test reads only the head row: an
-- `insert .. on conflict do update .. where` re-checks that row's latest committed version after waiting for a
-- concurrent mover, whereas a sub-select on sets would still read the statement's older snapshot.
create table heads (
    owner             text        not null,
    name              text        not null,
    scope             text        not null,
    set_id            text        not null references sets (set_id),
    set_completed_at  timestamptz not null,
    moved_at          timestamptz not null,
    primary key (owner, name, scope)
);

-- Content-addressed chunks (sha256 of the raw bytes); stored once, shared between sets.
create table chunks (
    sha256       text        primary key,
    raw_size     bigint      not null check (raw_size >= 0),
    stored_size  bigint      not null check (stored_size >= 0),
    created_at   timestamptz not null default now()
);

-- The ordered chunk list of each set: concatenating the chunks in ord order gives the set's tar stream.
create table set_chunks (
    set_id        text   not null references sets (set_id),
    ord           integer not null check (ord >= 0),
    chunk_sha256  text   not null references chunks (sha256),
    raw_offset    bigint not null check (raw_offset >= 0),
    raw_size      bigint not null check (raw_size >= 0),
    stored_size   bigint not null check (stored_size >= 0),
    primary key (set_id, ord)
);
-- GC asks "which sets still reference this chunk?"
create index set_chunks_chunk on set_chunks (chunk_sha256);

-- Every set a job was given (staged) or unfurled (restored), for the ephemera.used report.
create table uses (
    job_id          text        not null,
    set_id          text        not null references sets (set_id),
    kind            text        not null check (kind in ('staged', 'restored')),
    name            text        not null,
    scope           text        not null,
    fallback_level  integer     not null check (fallback_level >= 0),
    at              timestamptz not null,
    primary key (job_id, set_id, kind)
);
create index uses_set on uses (set_id);

-- Ids of consumed events, written in the transaction that applies the event: a redelivered or replayed event
-- is recognised (same digest) and a reused id with other content is detected (different digest).
create table processed_events (
    event_id          text        primary key,
    type              text        not null,
    digest            text        not null,     -- sha256 of the event's bytes
    source_topic      text        not null,
    source_partition  integer     not null,
    source_offset     bigint      not null,
    processed_at      timestamptz not null default now()
);

-- Events to publish, written in the same transaction as the change they describe; a publisher drains it.
create table outbox (
    seq           bigserial   primary key,
    event_id      text        not null,
    topic         text        not null,
    key           text,
    payload       bytea       not null,
    headers       jsonb,
    created_at    timestamptz not null default now(),
    published_at  timestamptz
);
-- the publisher only ever looks at what is not yet published
create index outbox_unpublished on outbox (seq) where published_at is null;

-- Per-owner policy; an owner without a row gets the defaults (hermetic, 10 GiB, 7 days, 'success').
create table owner_policies (
    owner                text        primary key,
    default_branch_mode  text        not null default 'hermetic' check (default_branch_mode in ('hermetic', 'seed')),
    quota_bytes          bigint      not null default 10737418240 check (quota_bytes > 0),
    idle_days            integer     not null default 7 check (idle_days > 0),
    when_default         text        not null default 'success' check (when_default in ('success', 'always')),
    updated_at           timestamptz not null default now()
);

-- Applied invalidations: recorded so they are reported and survive a replay of the topics.
create table invalidations (
    id             text        primary key,
    owner          text        not null,
    selector       jsonb       not null,
    reason         text        not null,
    requested_by   text        not null,
    applied_at     timestamptz not null,
    sets_affected  integer     not null check (sets_affected >= 0)
);
create index invalidations_owner on invalidations (owner, applied_at);
