-- Version 4: the history of every attempt. A message may carry its own retry policy (null: the
-- queue's), a replayed message remembers the attempts it made before, and the archive keeps the
-- error history of what it holds. Nullable columns and constant defaults: no table rewrite.

alter table {{schema}}.message
  add column max_attempts   integer,                  -- null: the queue's max_attempts
  add column backoff_ms     bigint[],                 -- null: the queue's backoff
  add column prior_attempts integer not null default 0; -- attempts made before its replays

-- A dead letter's attempts before its last replay are its error entries beyond its attempts
-- (every attempt of a dead letter failed), so only the policy needs keeping for a replay.
alter table {{schema}}.dead_letter
  add column max_attempts integer,
  add column backoff_ms   bigint[];

alter table {{schema}}.archive
  add column errors         jsonb not null default '[]',
  add column prior_attempts integer not null default 0;

-- Browsing a queue's archive, oldest first (as dead_letter_queue serves dead letters).
create index archive_queue on {{schema}}.archive (queue, id);
