-- ---------------------------------------------------------------------------------------------
-- Recurring schedules. Tick times come from the database clock; fire_schedules() sends what is
-- due, under a row lock per schedule, and the tick table's key refuses a second message for one
-- tick, so any number of instances may call it at once.

-- One cron field as the sorted values it allows: *, ?, a number or name, a range a-b, a step
-- (*/n, a/n, a-b/n), or a comma list of these.
create function {{schema}}._cron_field(expr text, what text, lo integer, hi integer,
                                       names text[] default null)
returns integer[] language plpgsql immutable as $$
declare
  part text;
  m text[];
  a integer;
  b integer;
  step integer;
  vals integer[] := '{}';
begin
  foreach part in array string_to_array(upper(expr), ',') loop
    m := regexp_match(part, '^(\*|\?|([0-9A-Z]+)(-([0-9A-Z]+))?)(/([0-9]{1,4}))?$');
    if m is not null then
      a := case when m[1] in ('*', '?') then lo
                when m[2] ~ '^[0-9]{1,4}$' then m[2]::integer
                else array_position(names, m[2]) + lo - 1 end;
      b := case when m[1] in ('*', '?') then hi
                when m[4] ~ '^[0-9]{1,4}$' then m[4]::integer
                when m[4] is not null then array_position(names, m[4]) + lo - 1
                when m[6] is not null then hi
                else a end;
      step := coalesce(m[6]::integer, 1);
    end if;
    if m is null or a is null or b is null or a < lo or b > hi or a > b or step < 1 then
      perform {{schema}}._fail(format('cron %s field %L is invalid: use *, a value from %s to %s,'
        ' a range a-b, a step */n or a-b/n, or a comma list of these', what, expr, lo, hi));
    end if;
    vals := vals || array(select generate_series(a, b, step));
  end loop;
  return array(select distinct v from unnest(vals) v order by v);
end $$;

-- A cron expression as its fields' allowed values: 5 fields (minute hour day-of-month month
-- day-of-week), 6 with seconds first, or a macro such as @hourly.
create function {{schema}}._cron(expr text) returns jsonb language plpgsql immutable as $$
declare
  e text := case lower(trim(expr))
              when '@yearly' then '0 0 1 1 *' when '@annually' then '0 0 1 1 *'
              when '@monthly' then '0 0 1 * *' when '@weekly' then '0 0 * * 0'
              when '@daily' then '0 0 * * *' when '@midnight' then '0 0 * * *'
              when '@hourly' then '0 * * * *' else trim(expr) end;
  f text[] := regexp_split_to_array(e, '\s+');
begin
  if cardinality(f) = 5 then
    f := array['0'] || f;
  elsif cardinality(f) <> 6 then
    perform {{schema}}._fail(format('a cron expression has 5 fields (minute hour day-of-month '
      'month day-of-week), or 6 with seconds first, was %L', expr));
  end if;
  return jsonb_build_object(
    'second', {{schema}}._cron_field(f[1], 'second', 0, 59),
    'minute', {{schema}}._cron_field(f[2], 'minute', 0, 59),
    'hour', {{schema}}._cron_field(f[3], 'hour', 0, 23),
    'day', {{schema}}._cron_field(f[4], 'day-of-month', 1, 31),
    'month', {{schema}}._cron_field(f[5], 'month', 1, 12,
      array['JAN','FEB','MAR','APR','MAY','JUN','JUL','AUG','SEP','OCT','NOV','DEC']),
    -- 0 and 7 are both Sunday
    'weekday', array(select distinct v % 7 from unnest({{schema}}._cron_field(f[6],
      'day-of-week', 0, 7, array['SUN','MON','TUE','WED','THU','FRI','SAT'])) v order by 1),
    -- as in cron: when both day fields are restricted, a day matching either one fires
    'any_day', f[4] in ('*', '?'), 'any_weekday', f[6] in ('*', '?'));
end $$;

-- The first tick strictly after "after": on the interval grid through "tick" for every_ms, else
-- the first second the cron expression allows in its time zone (within 5 years).
create function {{schema}}._next_tick(cron text, time_zone text, every_ms bigint,
                                      tick timestamptz, after timestamptz)
returns timestamptz language plpgsql stable as $$
declare
  c jsonb;
  sec integer[]; mins integer[]; hours integer[]; days integer[]; months integer[];
  weekdays integer[];
  start timestamp := date_trunc('second', after at time zone time_zone) + interval '1 second';
  d date;
  h integer; mi integer; s integer;
  t timestamptz;
begin
  if every_ms is not null then
    return tick + (floor(greatest(extract(epoch from after - tick) * 1000, -1) / every_ms) + 1)
                  * every_ms * interval '1 millisecond';
  end if;
  c := {{schema}}._cron(cron);
  sec := array(select jsonb_array_elements_text(c -> 'second')::integer);
  mins := array(select jsonb_array_elements_text(c -> 'minute')::integer);
  hours := array(select jsonb_array_elements_text(c -> 'hour')::integer);
  days := array(select jsonb_array_elements_text(c -> 'day')::integer);
  months := array(select jsonb_array_elements_text(c -> 'month')::integer);
  weekdays := array(select jsonb_array_elements_text(c -> 'weekday')::integer);
  for i in 0 .. 366 * 5 loop
    d := start::date + i;
    continue when not extract(month from d)::integer = any (months);
    continue when not case
      when (c ->> 'any_day')::boolean and (c ->> 'any_weekday')::boolean then true
      when (c ->> 'any_day')::boolean then extract(dow from d)::integer = any (weekdays)
      when (c ->> 'any_weekday')::boolean then extract(day from d)::integer = any (days)
      else extract(day from d)::integer = any (days)
           or extract(dow from d)::integer = any (weekdays) end;
    foreach h in array hours loop
      continue when i = 0 and h < extract(hour from start);
      foreach mi in array mins loop
        continue when i = 0 and h = extract(hour from start) and mi < extract(minute from start);
        foreach s in array sec loop
          continue when i = 0 and h = extract(hour from start) and mi = extract(minute from start)
                        and s < extract(second from start);
          t := (d + make_interval(hours => h, mins => mi, secs => s)) at time zone time_zone;
          if t > after then -- false only where a clock change repeats local times
            return t;
          end if;
        end loop;
      end loop;
    end loop;
  end loop;
  perform {{schema}}._fail(format('cron expression %L never fires', cron));
end $$;

-- Creates or changes a schedule; returns its next tick. Options: cron (with time_zone, default
-- UTC) or every_ms, payload, options (send options of each message) and catch_up (how many ticks
-- missed while nothing ran are still sent, oldest first; default 0). A schedule whose timing is
-- unchanged keeps its next tick, so every instance may register it on start.
create function {{schema}}.schedule(name text, queue text, spec jsonb)
returns timestamptz language plpgsql as $$
declare
  o jsonb := coalesce(spec, '{}');
  cron text := o ->> 'cron';
  tz text := coalesce(o ->> 'time_zone', 'UTC');
  every bigint;
  send_options jsonb := coalesce(o -> 'options', '{}');
  old {{schema}}.schedule;
  r {{schema}}.schedule;
begin
  perform {{schema}}._check_name('schedule', name);
  perform {{schema}}._find_queue(queue);
  perform {{schema}}._check_keys('schedule option', o,
    array['cron', 'time_zone', 'every_ms', 'payload', 'options', 'catch_up']);
  every := {{schema}}._ms(o, 'every_ms');
  if (cron is null) = (every is null) then
    perform {{schema}}._fail('a schedule needs either cron or every_ms');
  end if;
  if o ? 'cron' and jsonb_typeof(o -> 'cron') <> 'string' then
    perform {{schema}}._fail(format('cron must be a string such as "*/5 * * * *", was %s',
      o -> 'cron'));
  end if;
  if every < 1000 then
    perform {{schema}}._fail(format('every_ms must be at least 1000, was %s', every));
  end if;
  if jsonb_typeof(o -> 'time_zone') is distinct from 'string' and o ? 'time_zone'
     or not exists (select 1 from pg_timezone_names z where z.name = tz) then
    perform {{schema}}._fail(format('time_zone must be a zone name such as "Europe/Berlin", '
      'was %s', coalesce(o -> 'time_zone', to_jsonb(tz))));
  end if;
  if send_options ? 'deliver_at' then
    perform {{schema}}._fail('a schedule''s messages cannot have a deliver_at; use delay_ms');
  end if;
  perform {{schema}}._send_options(send_options, false); -- refuses bad options, and dedup_key
  if o ? 'payload' and o -> 'payload' = 'null' then
    perform {{schema}}._fail('payload must not be null');
  end if;

  select * into old from {{schema}}.schedule s where s.name = schedule.name for update;
  insert into {{schema}}.schedule as s (name, queue, cron, time_zone, every_ms, payload, options,
                                        catch_up, next_at)
  values (schedule.name, queue, cron, tz, every, coalesce(o -> 'payload', '{}'), send_options,
          coalesce({{schema}}._ms(o, 'catch_up', 1000), 0),
          {{schema}}._next_tick(cron, tz, every, clock_timestamp(), clock_timestamp()))
  on conflict on constraint schedule_pkey do update set
    queue = excluded.queue, cron = excluded.cron, time_zone = excluded.time_zone,
    every_ms = excluded.every_ms, payload = excluded.payload, options = excluded.options,
    catch_up = excluded.catch_up,
    next_at = case when old.cron is not distinct from excluded.cron
                    and old.every_ms is not distinct from excluded.every_ms
                    and old.time_zone = excluded.time_zone
                   then s.next_at else excluded.next_at end
  returning s.* into r;
  return r.next_at;
end $$;

create function {{schema}}.unschedule(name text) returns boolean language plpgsql as $$
begin
  perform {{schema}}._check_name('schedule', name);
  delete from {{schema}}.schedule s where s.name = unschedule.name;
  return found;
end $$;

-- A paused schedule sends nothing; resumed, it goes on from its next tick after now (the ticks
-- of the pause are skipped, not caught up).
create function {{schema}}.pause_schedule(name text, paused boolean default true)
returns boolean language plpgsql as $$
begin
  perform {{schema}}._check_name('schedule', name);
  update {{schema}}.schedule s set
    paused = pause_schedule.paused,
    next_at = case when pause_schedule.paused or s.next_at > clock_timestamp() then s.next_at
                   else {{schema}}._next_tick(s.cron, s.time_zone, s.every_ms, s.next_at,
                                              clock_timestamp()) end
  where s.name = pause_schedule.name;
  return found;
end $$;

-- Sends every due tick; returns how many messages it sent and how long until the next tick (null:
-- no active schedule). A tick is missed when it is over grace_ms late (nothing ran then); of those,
-- a schedule sends its catch_up oldest and skips the rest.
create function {{schema}}.fire_schedules(grace_ms bigint default 30000,
                                          out sent integer, out next_in_ms bigint)
language plpgsql as $$
declare
  s {{schema}}.schedule;
  now_ timestamptz;
  t timestamptz;
  fired timestamptz;
  missed integer;
  msg bigint;
begin
  sent := 0;
  for s in select * from {{schema}}.schedule x where not x.paused
                                                 and x.next_at <= clock_timestamp()
           order by x.next_at for update skip locked loop
    now_ := clock_timestamp();
    t := s.next_at;
    fired := null;
    missed := 0;
    while t <= now_ loop
      if t < now_ - grace_ms * interval '1 millisecond' then
        missed := missed + 1;
        if missed > s.catch_up then
          t := {{schema}}._next_tick(s.cron, s.time_zone, s.every_ms, t,
                                     now_ - (grace_ms + 1) * interval '1 millisecond');
          continue;
        end if;
      end if;
      insert into {{schema}}.schedule_tick (schedule, tick_at) values (s.name, t)
      on conflict do nothing;
      if found then
        select i into msg
        from {{schema}}._send_options(s.options, false) o,
             {{schema}}._send(s.queue, array[s.payload],
               coalesce(o.headers, '{}')
                 || jsonb_build_object('pgbroker-schedule', s.name, 'pgbroker-tick', t),
               o.delay_ms, null, o.priority, null, o.ordering_key, true, o.max_attempts,
               o.backoff_ms) i;
        update {{schema}}.schedule_tick k set message_id = msg
        where k.schedule = s.name and k.tick_at = t;
        sent := sent + 1;
        fired := t;
      end if;
      t := {{schema}}._next_tick(s.cron, s.time_zone, s.every_ms, t, t);
    end loop;
    update {{schema}}.schedule x set next_at = t, last_at = coalesce(fired, x.last_at)
    where x.name = s.name;
    -- the tick table is the recent history: a day of it (caught-up ticks stay a day too)
    delete from {{schema}}.schedule_tick k
    where k.schedule = s.name and k.tick_at < now_ - interval '1 day'
      and k.sent_at < now_ - interval '1 day';
  end loop;
  select (extract(epoch from min(x.next_at) - clock_timestamp()) * 1000)::bigint
  into next_in_ms from {{schema}}.schedule x where not x.paused;
  -- null while no schedule runs: greatest() skips nulls, and gave 0, which had every worker fire
  -- schedules 50 times a second.
  if next_in_ms < 0 then
    next_in_ms := 0;
  end if;
end $$;
