-- ---------------------------------------------------------------------------------------------
-- Dead letters

-- Puts dead letters back as messages: those in ids, or when ids is null those with an error
-- text that contains error_contains, or all. A replayed message keeps its id, its error history and its own
-- retry policy, and gets a fresh budget: attempt starts again from 0, so it has max_attempts
-- deliveries left, and prior_attempts records the attempts it made before. Every attempt of a
-- dead letter failed and left one error entry, so those are its entries' count.
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
      and (error_contains is null
           or exists (select 1 from jsonb_array_elements(d.errors) e
                      where strpos(e ->> 'error', error_contains) > 0))
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
                                  dedup_key, visible_at, errors, prior_attempts, max_attempts,
                                  backoff_ms)
  select r.id, r.queue, r.payload, r.headers, r.priority, r.ordering_key, r.dedup_key,
         clock_timestamp(), r.errors, jsonb_array_length(r.errors), r.max_attempts, r.backoff_ms
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

