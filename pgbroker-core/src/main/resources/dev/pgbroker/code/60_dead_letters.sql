-- ---------------------------------------------------------------------------------------------
-- Dead letters

-- Puts dead letters back as new messages (same id, attempts reset, error history kept):
-- those in ids, or when ids is null those whose errors mention error_contains, or all.
create function {{schema}}.replay_dead_letters(queue text, ids bigint[] default null,
                                  error_contains text default null) returns integer
language plpgsql as $$
#variable_conflict use_column
declare
  n integer;
begin
  perform {{schema}}._find_queue(queue);
  with revived as (
    delete from {{schema}}.dead_letter d
    where d.queue = replay_dead_letters.queue
      and (ids is null or d.id = any (ids))
      and (error_contains is null or strpos(d.errors::text, error_contains) > 0)
    returning d.*
  ), reclaimed as (
    insert into {{schema}}.dedup as k (queue, dedup_key, message_id)
    select distinct on (r.dedup_key) r.queue, r.dedup_key, r.id
    from revived r where r.dedup_key is not null
    order by r.dedup_key, r.id
    on conflict (queue, dedup_key) do update set message_id = excluded.message_id,
      expires_at = null
    where k.expires_at is not null or k.message_id = excluded.message_id
  )
  insert into {{schema}}.message (id, queue, payload, headers, priority, ordering_key,
                                  dedup_key, visible_at, errors)
  select r.id, r.queue, r.payload, r.headers, r.priority, r.ordering_key, r.dedup_key, clock_timestamp(),
         r.errors
  from revived r;
  get diagnostics n = row_count;
  return n;
end $$;

create function {{schema}}.purge_dead_letters(queue text, ids bigint[] default null) returns integer
language plpgsql as $$
declare
  n integer;
begin
  perform {{schema}}._find_queue(queue);
  delete from {{schema}}.dead_letter d
  where d.queue = purge_dead_letters.queue and (ids is null or d.id = any (ids));
  get diagnostics n = row_count;
  return n;
end $$;

