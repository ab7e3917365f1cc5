-- ---------------------------------------------------------------------------------------------
-- Stats and upkeep

-- Prunes expired dedup keys, folds counter rows and, unless prune_retention is false, deletes
-- whatever the archive and dead-letter retention no longer keep (prune(), in this transaction;
-- workers pass false and call prune() in short transactions of their own). Safe to call from
-- every instance at any time: whoever holds the lock does the work and the others return false.
create function {{schema}}.maintain(prune_retention boolean default true) returns boolean
language plpgsql as $$
begin
  if not pg_try_advisory_xact_lock(hashtextextended('pgbroker.maintain.{{schema}}', 0)) then
    return false;
  end if;
  if prune_retention then
    loop
      exit when {{schema}}.prune(10000) < 10000;
    end loop;
  end if;
  delete from {{schema}}.dedup where expires_at <= clock_timestamp();
  with folded as (
    delete from {{schema}}.counter returning *
  )
  insert into {{schema}}.counter (queue, sent, acked, failed, dead)
  select queue, sum(sent), sum(acked), sum(failed), sum(dead) from folded group by queue;
  return true;
end $$;

create function {{schema}}.stats(queue text)
returns table (ready bigint, delayed bigint, in_flight bigint, dead bigint,
               oldest_ready_age_ms bigint, sent bigint, acked bigint, failed bigint,
               dead_lettered bigint)
language plpgsql as $$
#variable_conflict use_column
declare
  q text := ({{schema}}._find_queue(queue)).name;
  t timestamptz := clock_timestamp();
begin
  -- ready includes messages parked behind their ordering key (visible_at 'infinity')
  return query
  select m.ready, m.delayed, m.in_flight, d.dead, m.oldest_ms, c.sent, c.acked, c.failed, c.dead
  from (
    select count(*) filter (where visible_at <= t or visible_at = 'infinity') as ready,
           count(*) filter (where lease is null and visible_at > t
                              and visible_at < 'infinity') as delayed,
           count(*) filter (where lease is not null and visible_at > t) as in_flight,
           (extract(epoch from t - min(visible_at) filter (where visible_at <= t))
             * 1000)::bigint as oldest_ms
    from {{schema}}.message m where m.queue = q) m,
  (select count(*) as dead from {{schema}}.dead_letter dl where dl.queue = q) d,
  (select coalesce(sum(c.sent), 0)::bigint as sent,
          coalesce(sum(c.acked), 0)::bigint as acked,
          coalesce(sum(c.failed), 0)::bigint as failed,
          coalesce(sum(c.dead), 0)::bigint as dead
   from {{schema}}.counter c where c.queue = q) c;
end $$;

-- Takes or renews the leader lease for ttl_ms; true while the caller holds it. A lease that ran
-- out passes to whoever asks next.
create function {{schema}}.lead(holder text, ttl_ms bigint) returns boolean
language sql as $$
  insert into {{schema}}.leader as l (holder, expires_at)
  values (holder, clock_timestamp() + ttl_ms * interval '1 millisecond')
  on conflict (one) do update set holder = excluded.holder, expires_at = excluded.expires_at
  where l.holder = excluded.holder or l.expires_at <= clock_timestamp()
  returning true;
$$;

-- Gives the leader lease up, so another instance takes over at once.
create function {{schema}}.resign(holder text) returns void
language sql as $$
  delete from {{schema}}.leader l where l.holder = resign.holder;
$$;
