-- Retention by age and by count for the archive and the dead-letter store, pruned in small
-- batches by prune() (code/75_retention.sql). Zero means no limit; the archive's age limit is
-- the queue's existing retention_ms. Constant defaults: no table rewrite.

alter table {{schema}}.queue
  add column archive_max_count         bigint not null default 0,
  add column dead_letter_retention_ms  bigint not null default 0,
  add column dead_letter_max_count     bigint not null default 0,
  add constraint queue_retention_limits check (archive_max_count >= 0
    and dead_letter_retention_ms >= 0 and dead_letter_max_count >= 0);

-- Pruning finds a queue's oldest dead letters by when they died, and its oldest archive rows by
-- when they were acknowledged.
create index dead_letter_age on {{schema}}.dead_letter (queue, dead_at, id);
create index archive_age on {{schema}}.archive (queue, acked_at, id);
