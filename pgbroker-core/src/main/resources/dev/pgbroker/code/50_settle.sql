-- ---------------------------------------------------------------------------------------------
-- Settle. Each function takes arrays of ids and their lease tokens, settles those whose lease is
-- still held, and returns the (id, lease) pairs it settled: a missing one was stale (its lease ran out and it
-- was delivered again, or it was already settled). A lease token names one delivery (or one run
-- of a key's messages delivered together). Keys left with no live lease wake their next message.
-- Each joins its arrays to the message table, and is planned for the arrays it is given: after a
-- few calls PostgreSQL would otherwise keep a generic plan that guesses ten elements and rescans
-- the whole array for every message (measured: 216 ms to ack 1,000 messages instead of 6-9 ms).
-- While the table's statistics predate its rows (a burst right after a bulk send, before
-- autoanalyze, or with autovacuum off), the planner took the queue's whole range of message_fetch
-- for a few rows and joined the arrays by a nested loop: an ack of 100 of 20,000 keyed messages
-- read every message of the queue and compared 10,000 pairs, 6 ms. So the queue is compared with
-- "is not distinct from", which no index serves, leaving the ids as the only way in, and nested
-- loops are off, leaving a hash of the arrays: 0.5 ms.

-- Finishes messages: deletes them, or archives them when the queue keeps a retention.
create function {{schema}}._ack(q text, ids bigint[], leases uuid[])
returns table (id bigint, lease uuid) language plpgsql
set plan_cache_mode = force_custom_plan set enable_nestloop = off as $$
#variable_conflict use_column
declare
  cfg {{schema}}.queue := {{schema}}._find_queue(q);
  done bigint[];
  done_leases uuid[];
  keys text[];
begin
  with gone as (
    delete from {{schema}}.message m
    using unnest(ids, leases) as u(id, lease)
    where m.id = u.id and m.lease = u.lease and m.queue is not distinct from q
      and m.id = any (ids) -- an index probe per id, whatever the join's estimate
    returning m.*
  ), archived as (
    insert into {{schema}}.archive (id, queue, payload, headers, attempts, enqueued_at,
                                    expires_at, errors, prior_attempts)
    select g.id, g.queue, g.payload, g.headers, g.attempt, g.enqueued_at,
           clock_timestamp() + cfg.retention_ms * interval '1 millisecond', g.errors,
           g.prior_attempts
    from gone g where cfg.retention_ms > 0
  )
  select array_agg(g.id), array_agg(g.lease),
         array_agg(g.ordering_key) filter (where g.ordering_key is not null)
  into done, done_leases, keys from gone g;
  perform {{schema}}._count(q, 0, coalesce(cardinality(done), 0), 0, 0);
  perform {{schema}}._unpark(q, keys);
  return query select * from unnest(done, done_leases);
end $$;

-- The one-message faces take the lease as read() returns it (uuid); the text overloads serve
-- drivers that bind strings as varchar.
create function {{schema}}.ack(queue text, id bigint, lease uuid) returns boolean
language sql as $$
  select exists (select 1 from {{schema}}._ack(queue, array[id], array[lease]));
$$;

create function {{schema}}.ack(queue text, id bigint, lease text) returns boolean
language sql as $$
  select {{schema}}.ack(queue, id, lease::uuid);
$$;

-- Fails deliveries: each is retried after its delay (null: its backoff) or, when its attempts are
-- used up (the message's own max_attempts, else the queue's), moved to the dead-letter store with
-- its error history. force picks the end instead: 'dead' dead-letters whatever attempts are
-- left; 'retry' retries even after the last attempt (the worker's answer to a dead-letter hook
-- that failed: the move was rolled back, so the message gets one more delivery).
-- Each history entry is {attempt, at, error} plus a trace when one is given; error and trace
-- keep their first 4,000 characters (Checks.MAX_ERROR_CHARS mirrors this).
-- Returns (id, lease, 'retry' | 'dead') for each one settled.
create function {{schema}}._nack(q text, ids bigint[], leases uuid[], delays_ms bigint[],
                                 errors text[], dead_letter_now boolean default false,
                                 traces text[] default null, force text default null)
returns table (id bigint, lease uuid, outcome text) language plpgsql
set plan_cache_mode = force_custom_plan set enable_nestloop = off as $$
#variable_conflict use_column
declare
  cfg {{schema}}.queue := {{schema}}._find_queue(q);
  forced text := case when dead_letter_now then 'dead' else force end;
  settled bigint[];
  settled_leases uuid[];
  outcomes text[];
  keys text[];
begin
  if forced is not null and forced not in ('dead', 'retry') then
    perform {{schema}}._fail(format('nack force must be dead, retry or null, was %L', forced));
  end if;
  if exists (select 1 from unnest(delays_ms) d where d < 0) then
    perform {{schema}}._fail('nack delay must be >= 0 ms');
  end if;
  with target as (
    select m.id, m.lease, m.ordering_key, u.d,
           case when forced is not null then forced = 'dead'
                else m.attempt >= coalesce(m.max_attempts, cfg.max_attempts) end as final,
           jsonb_build_object('attempt', m.attempt, 'at', clock_timestamp(), 'error', left(u.e, 4000))
             || case when u.tr is null then '{}'
                     else jsonb_build_object('trace', left(u.tr, 4000)) end as entry
    from unnest(ids, leases, delays_ms, errors, traces) as u(id, lease, d, e, tr)
    join {{schema}}.message m on m.id = u.id and m.lease = u.lease
                               and m.queue is not distinct from q
    where m.id = any (ids) -- an index probe per id, whatever the join's estimate
    for update of m
  ), dead as (
    delete from {{schema}}.message m using target t
    where m.id = t.id and t.final and m.id = any (ids)
    returning m.*, t.entry
  ), buried as (
    insert into {{schema}}.dead_letter (id, queue, payload, headers, priority, ordering_key,
                                        dedup_key, attempts, enqueued_at, errors, max_attempts,
                                        backoff_ms)
    select d.id, d.queue, d.payload, d.headers, d.priority, d.ordering_key, d.dedup_key,
           d.attempt, d.enqueued_at, d.errors || jsonb_build_array(d.entry), d.max_attempts,
           d.backoff_ms
    from dead d where cfg.dead_letter
  ), retry as (
    update {{schema}}.message m
    set lease = null, errors = m.errors || jsonb_build_array(t.entry),
        visible_at = clock_timestamp()
                     + coalesce(t.d, {{schema}}._backoff_ms(cfg, m.attempt, m.backoff_ms))
                       * interval '1 millisecond'
    from target t
    where m.id = t.id and not t.final and m.id = any (ids)
    returning t.id, t.lease
  ), settled as (
    select r.id, r.lease, 'retry' as outcome from retry r
    union all select d.id, d.lease, 'dead' from dead d
  )
  select coalesce(array_agg(s.id), '{}'), coalesce(array_agg(s.lease), '{}'),
         coalesce(array_agg(s.outcome), '{}'),
         (select array_agg(t.ordering_key) from target t where t.ordering_key is not null)
  into settled, settled_leases, outcomes, keys from settled s;
  perform {{schema}}._count(q, 0, 0, cardinality(settled),
                            cardinality(array_remove(outcomes, 'retry')));
  perform {{schema}}._unpark(q, keys);
  return query select * from unnest(settled, settled_leases, outcomes);
end $$;

-- Retries after delay_ms, or by default after the queue's backoff.
create function {{schema}}.nack(queue text, id bigint, lease uuid, error text default null,
                                delay_ms bigint default null) returns boolean
language sql as $$
  select exists (select 1 from {{schema}}._nack(queue, array[id], array[lease],
                                                array[delay_ms], array[error]));
$$;

create function {{schema}}.nack(queue text, id bigint, lease text, error text default null,
                                delay_ms bigint default null) returns boolean
language sql as $$
  select {{schema}}.nack(queue, id, lease::uuid, error, delay_ms);
$$;

-- Pushes the lease expiry of held deliveries to extend_ms from now. A lease that has already run
-- out is not revived: its key may have been leased to another consumer since.
create function {{schema}}._extend(q text, ids bigint[], leases uuid[], extend_ms bigint)
returns table (id bigint, lease uuid) language plpgsql
set plan_cache_mode = force_custom_plan set enable_nestloop = off as $$
#variable_conflict use_column
begin
  perform {{schema}}._find_queue(q);
  if extend_ms is null or extend_ms <= 0 then
    perform {{schema}}._fail(format('lease extension must be > 0 ms, was %s', extend_ms));
  end if;
  return query
    update {{schema}}.message m
    set visible_at = clock_timestamp() + extend_ms * interval '1 millisecond'
    from unnest(ids, leases) as u(id, lease)
    where m.id = u.id and m.lease = u.lease and m.queue is not distinct from q
      and m.id = any (ids) -- an index probe per id, whatever the join's estimate
      and m.visible_at > clock_timestamp()
    returning m.id, m.lease;
end $$;

create function {{schema}}.extend(queue text, id bigint, lease uuid, extend_ms bigint)
returns boolean language sql as $$
  select exists (select 1 from {{schema}}._extend(queue, array[id], array[lease], extend_ms));
$$;

create function {{schema}}.extend(queue text, id bigint, lease text, extend_ms bigint)
returns boolean language sql as $$
  select {{schema}}.extend(queue, id, lease::uuid, extend_ms);
$$;

-- Gives back leases of deliveries a consumer took but never started (a worker shutting down):
-- the messages are deliverable again at once and the attempt does not count.
create function {{schema}}._release(q text, ids bigint[], leases uuid[])
returns table (id bigint, lease uuid) language plpgsql
set plan_cache_mode = force_custom_plan set enable_nestloop = off as $$
#variable_conflict use_column
declare
  done bigint[];
  done_leases uuid[];
  keys text[];
begin
  perform {{schema}}._find_queue(q);
  with released as (
    update {{schema}}.message m
    set lease = null, visible_at = clock_timestamp(), attempt = m.attempt - 1
    from unnest(ids, leases) as u(id, lease)
    where m.id = u.id and m.lease = u.lease and m.queue is not distinct from q
      and m.id = any (ids) -- an index probe per id, whatever the join's estimate
    returning m.id, u.lease, m.ordering_key
  )
  select array_agg(r.id), array_agg(r.lease),
         array_agg(r.ordering_key) filter (where r.ordering_key is not null)
  into done, done_leases, keys from released r;
  perform {{schema}}._unpark(q, keys);
  return query select * from unnest(done, done_leases);
end $$;

-- Milliseconds until the next message of the queue becomes deliverable by time alone (a delay,
-- a retry backoff or a lease running out): 0 when one is due now, null when there is none.
-- Workers sleep until then. PostgreSQL 15 has no skip scan, so this walks the few distinct
-- priorities one index probe at a time and takes the earliest due time within each, instead of
-- scanning every row. Parked messages ('infinity') wait for their key, not for a time.
create function {{schema}}._next_due_ms(q text) returns bigint
language sql volatile as $$
  with recursive prio(p) as (
    select max(m.priority) from {{schema}}.message m where m.queue = q
    union all
    select (select max(m.priority) from {{schema}}.message m
            where m.queue = q and m.priority < prio.p)
    from prio where prio.p is not null
  )
  select case when min(due.at) is not null -- (greatest() would turn a null into 0)
         then greatest(0, ceil(extract(epoch from min(due.at) - clock_timestamp()) * 1000))::bigint
         end
  from prio, lateral (select min(m.visible_at) as at from {{schema}}.message m
                      where m.queue = q and m.priority = prio.p
                        and m.visible_at < 'infinity') due
  where prio.p is not null;
$$;
