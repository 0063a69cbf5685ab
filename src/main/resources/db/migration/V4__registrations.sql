-- Registrations the persist did not wait for (issue 4).
--
-- `POST /v1/jobs/{job}/sets` with "wait": false answers as soon as the worker has checked that every chunk the
-- manifest names is stored, and records the manifest here. The worker then reads the stored chunks back (or finishes
-- the upload session's digests), and in one transaction deletes the row and inserts the pending set with its own
-- tar_sha256 and archive_sha256, or deletes the row and emits ephemera.discarded when the chunks do not make the
-- stream the manifest describes. A job.completed waits for its job's rows to be settled before it is applied, so a
-- set is never live, and never reported, before the worker has verified it; a worker that stops leaves the row,
-- and the next one (or the job's completion) verifies it again from the store.
create table registrations (
    set_id          text        primary key,
    job_id          text        not null references jobs (job_id),
    owner           text        not null,
    name            text        not null,
    scope           text        not null,
    when_           text        not null check (when_ in ('success', 'always')),
    upload_session  text,
    manifest        text        not null,   -- as the job sent it: parsed again when verified, never served
    created_at      timestamptz not null
);
create index registrations_job on registrations (job_id);
