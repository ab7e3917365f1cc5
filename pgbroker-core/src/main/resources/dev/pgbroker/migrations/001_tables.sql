-- Version 1: queues, messages, dead letters, archive, dedup keys and counters. Tables and
-- indexes only; functions live in ../code and are re-applied whenever they change.
-- {{schema}} is replaced by the validated schema name before this file runs.

create table {{schema}}.queue (
  name                  text primary key,
  visibility_timeout_ms bigint  not null default 30000,
  max_attempts          integer not null default 5,
  backoff_ms            bigint[],                     -- explicit schedule; null: exponential
  backoff_base_ms       bigint  not null default 1000,
  backoff_max_ms        bigint  not null default 600000,
  dead_letter           boolean not null default true, -- false: exhausted messages are dropped
  retention_ms          bigint  not null default 0,    -- > 0: acked messages are archived
  dedup_window_ms       bigint  not null default 0,    -- how long a finished dedup key still counts
  max_payload_bytes     integer not null default 1048576,
  created_at            timestamptz not null default now(),
  check (visibility_timeout_ms > 0),
  check (max_attempts > 0),
  check (backoff_base_ms >= 0),
  check (retention_ms >= 0 and dedup_window_ms >= 0),
  check (max_payload_bytes > 0)
);

create sequence {{schema}}.message_id_seq;

-- The hot table: only live messages (ready, delayed, leased). visible_at is the due time of a
-- ready or delayed message and the lease expiry of a leased one, so one range test finds
-- everything deliverable, including messages whose lease has run out. There is no foreign key
-- to queue: its per-row check cost a quarter of a batch insert, so _send locks the queue row
-- once per statement instead and delete_queue deletes the queue's messages itself.
create table {{schema}}.message (
  id           bigint primary key default nextval('{{schema}}.message_id_seq'),
  queue        text not null,
  payload      jsonb not null,
  headers      jsonb not null default '{}',
  priority     integer not null default 0,
  ordering_key text,
  dedup_key    text,
  attempt      integer not null default 0,
  visible_at   timestamptz not null,
  lease        uuid,
  enqueued_at  timestamptz not null default now(),
  errors       jsonb not null default '[]'           -- one entry per failed attempt
) with (fillfactor = 80);

-- Every finished message leaves a dead row and dead index entries at the head of
-- message_fetch, which each fetch walks until vacuum clears them; vacuum this table after a
-- fixed number of dead rows rather than a fraction of a table that is mostly dead.
alter table {{schema}}.message set (autovacuum_vacuum_scale_factor = 0,
  autovacuum_vacuum_threshold = 10000, autovacuum_vacuum_cost_delay = 0);

create index message_fetch on {{schema}}.message (queue, priority desc, visible_at, id);
create index message_ordering on {{schema}}.message (queue, ordering_key, id)
  where ordering_key is not null;
create index message_ordering_leased on {{schema}}.message (queue, ordering_key)
  where ordering_key is not null and lease is not null;

create table {{schema}}.dead_letter (
  id           bigint primary key,
  queue        text not null references {{schema}}.queue (name) on delete cascade,
  payload      jsonb not null,
  headers      jsonb not null,
  priority     integer not null,
  ordering_key text,
  dedup_key    text,
  attempts     integer not null,
  enqueued_at  timestamptz not null,
  dead_at      timestamptz not null default now(),
  errors       jsonb not null
);
create index dead_letter_queue on {{schema}}.dead_letter (queue, id);

create table {{schema}}.archive (
  id           bigint primary key,
  queue        text not null references {{schema}}.queue (name) on delete cascade,
  payload      jsonb not null,
  headers      jsonb not null,
  attempts     integer not null,
  enqueued_at  timestamptz not null,
  acked_at     timestamptz not null default now(),
  expires_at   timestamptz not null
);
create index archive_expiry on {{schema}}.archive (expires_at);

-- One row per dedup key: expires_at is null while its message is live, and the end of the
-- queue's dedup window once the message is finished.
create table {{schema}}.dedup (
  queue      text not null references {{schema}}.queue (name) on delete cascade,
  dedup_key  text not null,
  message_id bigint not null,
  expires_at timestamptz,
  primary key (queue, dedup_key)
);

-- Counters are appended, never updated, so concurrent senders never wait on a counter row;
-- maintain() folds them into one row per queue.
create table {{schema}}.counter (
  queue  text not null,
  sent   bigint not null default 0,
  acked  bigint not null default 0,
  failed bigint not null default 0,
  dead   bigint not null default 0
);
create index counter_queue on {{schema}}.counter (queue);
