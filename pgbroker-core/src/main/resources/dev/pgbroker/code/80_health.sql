-- ---------------------------------------------------------------------------------------------
-- Health: what an operator should look at, one row per warning; no rows means healthy.
-- Reads only. Seeing other roles' sessions needs pg_read_all_stats (or pg_monitor); without it
-- their transactions are invisible here.

-- When the queue's oldest message that became deliverable at or before cutoff did so; null when
-- none did. One index probe per distinct priority (a loose scan of message_fetch), so a large
-- backlog costs no more than a small one.
create function {{schema}}._oldest_ready(q text, cutoff timestamptz) returns timestamptz
language sql stable as $$
  with recursive p(priority) as (
    (select m.priority from {{schema}}.message m where m.queue = q
     order by m.priority desc limit 1)
    union all
    select (select m.priority from {{schema}}.message m
            where m.queue = q and m.priority < p.priority
            order by m.priority desc limit 1)
    from p where p.priority is not null
  )
  select min((select m.visible_at from {{schema}}.message m
              where m.queue = q and m.priority = p.priority and m.visible_at <= cutoff
              order by m.visible_at limit 1))
  from p where p.priority is not null;
$$;

-- options: oldest_ready_ms (default 300000): a queue whose oldest deliverable message has waited
-- longer; dead_tuples (default 100000): a table of the schema with more dead rows, which every
-- fetch may have to walk; xmin_age_ms (default 60000): a session of this database whose open
-- transaction (or prepared transaction) is older, holding back the xmin horizon so vacuum can
-- remove no dead row newer than it.
create function {{schema}}.health(options jsonb default '{}')
returns table (warning text, subject text, value bigint, threshold bigint, message text)
language plpgsql stable as $$
declare
  o jsonb := coalesce(options, '{}');
  t timestamptz := clock_timestamp();
  ready_ms bigint;
  dead bigint;
  xmin_ms bigint;
begin
  perform {{schema}}._check_keys('health option', o,
    array['oldest_ready_ms', 'dead_tuples', 'xmin_age_ms']);
  ready_ms := coalesce({{schema}}._ms(o, 'oldest_ready_ms'), 300000);
  dead := coalesce({{schema}}._ms(o, 'dead_tuples'), 100000);
  xmin_ms := coalesce({{schema}}._ms(o, 'xmin_age_ms'), 60000);

  return query
  select 'oldest_ready', q.name, r.age_ms, ready_ms,
         format('queue %s: its oldest ready message has waited %s ms (threshold %s ms); '
                'are its consumers running and keeping up?', q.name, r.age_ms, ready_ms)
  from {{schema}}.queue q
  cross join lateral (
    select (extract(epoch from t - {{schema}}._oldest_ready(q.name,
             t - ready_ms * interval '1 millisecond')) * 1000)::bigint as age_ms) r
  where r.age_ms is not null
  order by q.name;

  return query
  select 'dead_tuples', s.schemaname || '.' || s.relname, s.n_dead_tup, dead,
         format('table %s.%s holds %s dead rows (threshold %s, %s live); last vacuum %s; '
                'a long transaction may be holding vacuum back, or autovacuum is behind',
                s.schemaname, s.relname, s.n_dead_tup, dead, s.n_live_tup,
                coalesce(greatest(s.last_vacuum, s.last_autovacuum)::text, 'never'))
  from pg_stat_user_tables s
  where s.schemaname = '{{schema}}' and s.n_dead_tup > dead
  order by s.relname;

  return query
  select 'xmin_horizon', 'pid ' || a.pid, x.age_ms, xmin_ms,
         format('session pid %s (user %s, application %L, %s) has held a transaction open for '
                '%s ms (threshold %s ms), so vacuum cannot remove rows deleted since; '
                'end it, or pg_terminate_backend(%s)', a.pid, a.usename, a.application_name,
                a.state, x.age_ms, xmin_ms, a.pid)
  from pg_stat_activity a
  cross join lateral (
    select (extract(epoch from t - coalesce(a.xact_start, a.query_start)) * 1000)::bigint
      as age_ms) x
  where a.datname = current_database() and a.pid <> pg_backend_pid()
    and (a.backend_xmin is not null or a.backend_xid is not null)
    and a.backend_type not like 'autovacuum%'
    and x.age_ms > xmin_ms
  union all
  select 'xmin_horizon', 'prepared ' || p.gid, x.age_ms, xmin_ms,
         format('prepared transaction %L (owner %s) has waited %s ms for COMMIT PREPARED or '
                'ROLLBACK PREPARED (threshold %s ms), so vacuum cannot remove rows deleted since',
                p.gid, p.owner, x.age_ms, xmin_ms)
  from pg_prepared_xacts p
  cross join lateral (
    select (extract(epoch from t - p.prepared) * 1000)::bigint as age_ms) x
  where p.database = current_database() and x.age_ms > xmin_ms
  order by 3 desc;
end $$;
