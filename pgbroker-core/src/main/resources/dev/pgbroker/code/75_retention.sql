-- ---------------------------------------------------------------------------------------------
-- Retention: what the archive and the dead-letter store keep, by age and by count.

-- The row that is the queue's keep-th newest in the archive (by ack time) or the dead-letter
-- store (by death time): rows older than it are beyond the count limit. Null when the queue has
-- no more than keep rows. Walks keep index entries, newest first.
create function {{schema}}._nth_newest(tab text, q text, keep bigint)
returns table (at timestamptz, id bigint) language plpgsql stable as $$
begin
  if tab = 'archive' then
    return query select a.acked_at, a.id from {{schema}}.archive a where a.queue = q
                 order by a.acked_at desc, a.id desc offset keep - 1 limit 1;
  else
    return query select d.dead_at, d.id from {{schema}}.dead_letter d where d.queue = q
                 order by d.dead_at desc, d.id desc offset keep - 1 limit 1;
  end if;
end $$;

-- Deletes at most batch rows that retention no longer keeps, oldest first: archive rows past
-- their expiry (ack time + the queue's retention_ms at that time) or beyond the queue's
-- archive_max_count newest; dead letters older than dead_letter_retention_ms or beyond
-- dead_letter_max_count newest. Returns how many it deleted. Each call is one short
-- transaction; callers repeat it until it returns less than batch, so pruning a large backlog
-- never holds many row locks or writes one huge transaction. Rows another pruner holds are
-- skipped, so concurrent calls are harmless.
create function {{schema}}.prune(batch integer default 1000) returns integer
language plpgsql as $$
declare
  budget integer := batch;
  n integer;
  q {{schema}}.queue;
  t timestamptz := clock_timestamp();
  edge record;
begin
  if batch is null or batch < 1 or batch > 100000 then
    perform {{schema}}._fail(format('batch must be between 1 and 100000, was %s',
      coalesce(batch::text, 'null')));
  end if;

  with doomed as (
    select a.id from {{schema}}.archive a where a.expires_at <= t
    order by a.expires_at limit budget for update skip locked
  )
  delete from {{schema}}.archive a using doomed d where a.id = d.id;
  get diagnostics n = row_count;
  budget := budget - n;

  for q in select * from {{schema}}.queue c
           where c.archive_max_count > 0 or c.dead_letter_retention_ms > 0
              or c.dead_letter_max_count > 0 order by c.name loop
    exit when budget = 0;
    if q.archive_max_count > 0 then
      select * into edge from {{schema}}._nth_newest('archive', q.name, q.archive_max_count);
      if edge.id is not null then
        with doomed as (
          select a.id from {{schema}}.archive a
          where a.queue = q.name and (a.acked_at, a.id) < (edge.at, edge.id)
          order by a.acked_at, a.id limit budget for update skip locked
        )
        delete from {{schema}}.archive a using doomed d where a.id = d.id;
        get diagnostics n = row_count;
        budget := budget - n;
      end if;
    end if;
    if q.dead_letter_retention_ms > 0 and budget > 0 then
      with doomed as (
        select d.id from {{schema}}.dead_letter d
        where d.queue = q.name
          and d.dead_at <= t - q.dead_letter_retention_ms * interval '1 millisecond'
        order by d.dead_at, d.id limit budget for update skip locked
      )
      delete from {{schema}}.dead_letter d using doomed x where d.id = x.id;
      get diagnostics n = row_count;
      budget := budget - n;
    end if;
    if q.dead_letter_max_count > 0 and budget > 0 then
      select * into edge from {{schema}}._nth_newest('dead_letter', q.name,
                                                     q.dead_letter_max_count);
      if edge.id is not null then
        with doomed as (
          select d.id from {{schema}}.dead_letter d
          where d.queue = q.name and (d.dead_at, d.id) < (edge.at, edge.id)
          order by d.dead_at, d.id limit budget for update skip locked
        )
        delete from {{schema}}.dead_letter d using doomed x where d.id = x.id;
        get diagnostics n = row_count;
        budget := budget - n;
      end if;
    end if;
  end loop;
  return batch - budget;
end $$;
